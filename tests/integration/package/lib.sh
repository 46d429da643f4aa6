# tests/integration/package/lib.sh: what the package tests share.  Source it
# after tests/lib.sh.

# pkg_cargo: skip the test without cargo; else CARGO is a cargo that logs
# each build to $T_TMP/cargo.log (pkg_builds counts them), offline
pkg_cargo() {
	REAL_CARGO=$(command -v "${CARGO:-cargo}")
	if [ -z "$REAL_CARGO" ]; then
		echo "ok - $T_FILE: $1 # SKIP needs cargo"
		t_done
	fi
	cat >"$T_TMP/cargo" <<SH
#!/bin/sh
[ "\$1" = build ] && echo "\$*" >>"$T_TMP/cargo.log"
exec "$REAL_CARGO" "\$@"
SH
	chmod +x "$T_TMP/cargo"
	: >"$T_TMP/cargo.log"
	CARGO=$T_TMP/cargo
	HYDRO_CARGO_OFFLINE=1
	export CARGO HYDRO_CARGO_OFFLINE
	unset CARGO_TARGET_DIR HYDRO_CARGO_REGISTRY
}
pkg_builds() { wc -l <"$T_TMP/cargo.log" | tr -d ' '; }

# pkg_tiny DIR: a crate with no dependencies in DIR, quick to build
pkg_tiny() {
	mkdir -p "$1/src"
	printf '[package]\nname = "tiny"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n' \
		>"$1/Cargo.toml"
	echo 'fn main() {}' >"$1/src/main.rs"
}
