package main

// The shared build cache's size bound. Go trims GOCACHE itself only of entries unused for 5
// days, so a daemon building thousands of distinct cells a day grows it by GiBs (in memory on a
// tmpfs TMPDIR). Every kernel, of this execd or another sharing the cache, looks at its size
// after its first build and then at most every lookEvery (a stamp beside the cache says when the
// last look was), and past the bound removes the least recently used entries (Go refreshes an
// entry's mtime when it uses it, at most hourly) down to three quarters of it.
//
// A removal under a running build can take an object the build is about to link: builds hold
// a shared flock for their whole length and the trim an exclusive one. A gate, taken briefly by
// every build before its shared lock and held by the trim throughout, keeps a stream of builds
// from starving the trim: the trim waits for the builds already running, new ones wait for it.

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

const lookEvery = 30 * time.Second

// A kernel build (execd's, plugins/go/toolchain.ts, which cannot flock) runs in a dir of this
// prefix beside the cache for at most its 300 s timeout: no trim while one younger stands.
const kernelBuildPrefix, kernelBuildMax = "go-kernel-build-", 300 * time.Second

type cacheBound struct {
	dir    string // GOCACHE
	max    int64  // bytes of blocks; 0: no bound
	looked bool
}

func (b *cacheBound) root() string { return filepath.Dir(b.dir) }

// lockFile opens one of the bound's lock files: a description of its own each time, since
// flock's locks belong to the open file and one kernel's build and trim must not share one.
func (b *cacheBound) lockFile(name string) (int, error) {
	return syscall.Open(filepath.Join(b.root(), name), syscall.O_RDWR|syscall.O_CREAT|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
}

// building takes the shared lock for one build; the returned func lets it go. Without a bound,
// or when the lock files cannot be had, the build goes on as before.
func (b *cacheBound) building() func() {
	if b.max <= 0 {
		return func() {}
	}
	gate, err := b.lockFile("go-cache.gate")
	if err != nil {
		return func() {}
	}
	defer syscall.Close(gate)
	lock, err := b.lockFile("go-cache.lock")
	if err != nil {
		return func() {}
	}
	flock(gate, syscall.LOCK_EX)
	flock(lock, syscall.LOCK_SH)
	syscall.Flock(gate, syscall.LOCK_UN)
	return func() { syscall.Close(lock) }
}

// flock retries what a signal interrupted.
func flock(fd, how int) {
	for syscall.Flock(fd, how) == syscall.EINTR {
	}
}

// look measures the cache when a look is due, and trims it when past the bound.
func (b *cacheBound) look() {
	if b.max <= 0 {
		return
	}
	stamp := filepath.Join(b.root(), "go-cache.looked")
	if fi, err := os.Stat(stamp); b.looked && err == nil && time.Since(fi.ModTime()) < lookEvery {
		return
	}
	b.looked = true
	if f, err := os.OpenFile(stamp, os.O_WRONLY|os.O_CREATE|syscall.O_NOFOLLOW, 0o600); err == nil {
		f.Close()
		now := time.Now()
		os.Chtimes(stamp, now, now)
	}
	if _, size := b.entries(); size > b.max {
		b.trim()
	}
}

type entry struct {
	path  string
	size  int64
	mtime int64
}

// entries are the files of the cache's 256 entry dirs (not its README or trim.txt), with the
// blocks they take: on a tmpfs its ~200-byte action files take a page each.
func (b *cacheBound) entries() ([]entry, int64) {
	var all []entry
	var total int64
	dirs, _ := os.ReadDir(b.dir)
	for _, d := range dirs {
		if !d.IsDir() || len(d.Name()) != 2 {
			continue
		}
		files, _ := os.ReadDir(filepath.Join(b.dir, d.Name()))
		for _, f := range files {
			var st syscall.Stat_t
			p := filepath.Join(b.dir, d.Name(), f.Name())
			if syscall.Lstat(p, &st) != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
				continue
			}
			all = append(all, entry{p, st.Blocks * 512, st.Mtim.Nano()})
			total += st.Blocks * 512
		}
	}
	return all, total
}

// trim removes the least recently used entries down to three quarters of the bound, alone:
// no build runs while it does.
func (b *cacheBound) trim() {
	gate, err := b.lockFile("go-cache.gate")
	if err != nil {
		return
	}
	defer syscall.Close(gate)
	lock, err := b.lockFile("go-cache.lock")
	if err != nil {
		return
	}
	defer syscall.Close(lock)
	flock(gate, syscall.LOCK_EX)
	flock(lock, syscall.LOCK_EX)
	if b.kernelBuilding() {
		return
	}
	all, total := b.entries()
	sort.Slice(all, func(i, j int) bool { return all[i].mtime < all[j].mtime })
	for _, e := range all {
		if total <= b.max/4*3 {
			break
		}
		// An action entry left without its output is a miss to Go, as is the other way round.
		if os.Remove(e.path) == nil {
			total -= e.size
		}
	}
}

func (b *cacheBound) kernelBuilding() bool {
	names, _ := os.ReadDir(b.root())
	for _, n := range names {
		if !strings.HasPrefix(n.Name(), kernelBuildPrefix) {
			continue
		}
		if fi, err := n.Info(); err == nil && time.Since(fi.ModTime()) < kernelBuildMax {
			return true
		}
	}
	return false
}
