#!/bin/sh
# contrib/install-deps.sh: install every Debian package hydro needs to build,
# test and run.  Idempotent: quiet, and touches nothing, when all is present.
# Run as root (or with sudo available).
#
#   contrib/install-deps.sh               what hydro needs for this machine's target
#   contrib/install-deps.sh --cross       also the toolchain that builds for
#                                         aarch64-unknown-linux-gnu and runs it here
#   contrib/install-deps.sh --cross=armhf the same for other Debian architectures
#                                         (arm64, armhf, amd64; docs/targets.md)
#   contrib/install-deps.sh --bench       also the peers the benchmarks (make bench)
#                                         measure hydro beside: pssh, rsync,
#                                         ansible, zstd (CI runs no benchmarks)

set -e

cross=
bench=
for arg; do
	case $arg in
	--bench) bench=1 ;;
	--cross) cross=arm64 ;;
	--cross=*) cross=$(echo "${arg#*=}" | tr , ' ') ;;
	-h|--help) sed -n '2,14p' "$0"; exit 0 ;;
	*) echo "install-deps: unknown option '$arg' (try --help)" >&2; exit 2 ;;
	esac
done

# to build
pkgs="gcc make pkg-config python3-dev liblua5.4-dev libcurl4-openssl-dev
libcjson-dev libssh2-1-dev libarchive-dev libssl-dev"
# to run and test: the Python the binary embeds, test hosts with a real sshd
# in network namespaces, process tools the tests use
pkgs="$pkgs python3 openssh-server openssh-client iproute2 procps"
# the crates compiled Hydroflow programs build from, offline
pkgs="$pkgs librust-serde-dev librust-serde-derive-dev librust-bincode-dev
librust-serde-json-dev librust-chrono-dev"
# a Rust toolchain new enough for hydroflow 0.10 (1.85 or later), which .hf
# programs compile against: Debian 12's rustc/cargo are 1.63; rustc-web and
# cargo-web (bookworm's security updates) are new enough
cargo_minor=$(cargo --version 2>/dev/null | sed -n 's/^cargo 1\.\([0-9]*\).*/\1/p')
if [ -z "$cargo_minor" ] || [ "$cargo_minor" -lt 85 ]; then
	pkgs="$pkgs rustc-web cargo-web"
fi
# the fuzzer, the stub checker and the benchmark peers
pkgs="$pkgs clang libclang-rt-14-dev python3-mypy ninja-build"
# the benchmarks' other peers (bench/ssh-fanout: parallel-scp and
# parallel-ssh, rsync, ansible; bench/package: tar --zstd)
if [ -n "$bench" ]; then
	pkgs="$pkgs pssh rsync ansible zstd"
fi

# cross builds: Debian's rustc-web/cargo-web (/usr/bin/rustc, /usr/bin/cargo),
# the target's standard library (multiarch), its C linker and libc, and
# qemu-user to run what was built on this machine
for arch in $cross; do
	case $arch in
	arm64) gnu=aarch64-linux-gnu ;;
	armhf) gnu=arm-linux-gnueabihf ;;
	amd64) gnu=x86-64-linux-gnu ;;
	*) echo "install-deps: no cross toolchain for '$arch' (arm64, armhf, amd64)" >&2; exit 2 ;;
	esac
	pkgs="$pkgs rustc-web cargo-web libstd-rust-web-dev:$arch gcc-$gnu libc6-dev-$arch-cross qemu-user"
done

missing=
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

sudo=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || {
		echo "install-deps: not root and no sudo; install these as root:$missing" >&2
		exit 1
	}
	sudo=sudo
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
for arch in $cross; do
	if [ "$arch" != "$(dpkg --print-architecture)" ] &&
	   ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
		$sudo dpkg --add-architecture "$arch"
	fi
done
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
