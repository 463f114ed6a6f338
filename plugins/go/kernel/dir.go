package main

// The module dir, held open. Its name is in the listing of a shared TMPDIR: once something
// removes it (a temp cleaner, a root command's `rm -rf /tmp/*`) another user can make a dir of
// theirs there, and a build of a few seconds leaves time for it. So the kernel writes, builds
// and runs through the dir it opened (/proc/<pid>/fd/<n>, which never follows the name again),
// and looks at the name before each step only to say what happened.

import (
	"fmt"
	"os"
	"syscall"
)

type moduleDir struct {
	fd int // -1 when not open
	at string
}

// dirError ends a cell whose module dir is no longer the one the kernel holds.
type dirError struct{ why string }

func (e dirError) Error() string { return e.why }

// openDir opens the module dir at a cell's start, or keeps the one held while it still stands
// at its name. execd looked at the name just before (and made the dir again if it was gone);
// the kernel's own look covers the time between.
func (k *kernel) openDir() error {
	if k.dir.fd >= 0 {
		if k.dirIntact() == nil {
			return nil
		}
		syscall.Close(k.dir.fd)
		k.dir.fd = -1
	}
	fd, err := syscall.Open(k.cfg.Dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return k.dirFault(err.Error())
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil || !private(&st) {
		syscall.Close(fd)
		return k.dirFault("it is not a directory of this user's with mode 0700")
	}
	k.dir = moduleDir{fd: fd, at: fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), fd)}
	return nil
}

// dirIntact says why the entry at the dir's name is not the dir held (nil when it is): a link,
// another inode, another user's, or group or other bits.
func (k *kernel) dirIntact() error {
	var held, now syscall.Stat_t
	if err := syscall.Fstat(k.dir.fd, &held); err != nil {
		return k.dirFault(err.Error())
	}
	if err := syscall.Lstat(k.cfg.Dir, &now); err != nil {
		return k.dirFault(err.Error())
	}
	if now.Dev != held.Dev || now.Ino != held.Ino || !private(&now) {
		return k.dirFault("another entry is at its name")
	}
	return nil
}

func private(st *syscall.Stat_t) bool {
	return st.Mode&syscall.S_IFMT == syscall.S_IFDIR && st.Uid == uint32(os.Getuid()) && st.Mode&0o7777 == 0o700
}

func (k *kernel) dirFault(why string) error {
	return dirError{fmt.Sprintf("the go context's module dir %s was removed while the cell ran (%s): nothing was written, built or run there; run the cell again", k.cfg.Dir, why)}
}

// path is a name in the dir held, whatever stands at the dir's name now.
func (k *kernel) path(name string) string { return k.dir.at + "/" + name }
