# scripts/lib/apt.sh — installing Debian packages for the set-up scripts,
# sourced by them (not run). apt_install TAG PACKAGE...: installs the
# packages that are not installed yet; the apt index is refreshed only when
# something has to be installed, each missing package must have a
# candidate (else a clear error), and it runs as root or through sudo.
# Package scripts may try to start services; where no init system runs
# (containers, CI) that fails harmlessly.

apt_installed() {
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true) == installed ]]
}

apt_install() {
  local tag=$1; shift
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "[$tag] error: must run as root (or have sudo) to install packages" >&2
      return 1
    fi
  fi
  local missing=() p cand
  for p in "$@"; do
    if apt_installed "$p"; then
      echo "[$tag] ok       $p (already installed)"
    else
      echo "[$tag] missing  $p"
      missing+=("$p")
    fi
  done
  if ((${#missing[@]} == 0)); then
    echo "[$tag] step: nothing to install"
    return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  echo "[$tag] step: apt-get update"
  "${sudo[@]}" apt-get update -qq
  for p in "${missing[@]}"; do
    cand=$(apt-cache policy "$p" | awk '/Candidate:/ {print $2}')
    if [[ -z $cand || $cand == "(none)" ]]; then
      echo "[$tag] error: package $p has no installation candidate in the configured apt sources" >&2
      return 1
    fi
    echo "[$tag] candidate $p $cand"
  done
  echo "[$tag] step: apt-get install ${missing[*]}"
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
