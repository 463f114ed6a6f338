/**
 * A run's code that, for each descriptor of its shell but 0-2, starts a background group reading
 * it with cat and a background function reading it with `read -u`, and writes a line to it;
 * what the jobs read goes to files in `dir`. It ends once every job has started (each touches an
 * `up-` file just before it reads), printing `grabbed <jobs>`.
 */
export const grabEveryDescriptor = (dir: string) => `
jobs_started=0
for p in /proc/$$/fd/*; do
  n=\${p##*/}
  case $n in 0|1|2) continue ;; esac
  [ -e "$p" ] || continue
  { : > "${dir}/up-cat-$n"; exec cat > "${dir}/cat-$n"; } <&$n 2>/dev/null &
  grab_line() { : > "${dir}/up-read-$1"; IFS= read -r -u "$1" l && printf '%s\\n' "$l" > "${dir}/read-$1"; }
  grab_line "$n" 2>/dev/null &
  jobs_started=$((jobs_started + 2))
  printf 'echo injected\\n' 2>/dev/null >&$n
done
until [ "$(ls "${dir}" | grep -c '^up-')" -ge "$jobs_started" ]; do sleep 0.05; done
echo "grabbed $jobs_started"
`
