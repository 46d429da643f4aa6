# files=[...] a service declares: checked when the deployment is, packed
# with its program as files/NAME and listed in the manifest; a changed file
# makes a new package without a new cargo build.
. "$TOP/tests/lib.sh"
. "$TOP/tests/python/lib.sh"
. "$TOP/tests/integration/package/lib.sh"

pkg_cargo "files= in packages"
builds() { pkg_builds; }

W=$T_TMP/w
mkdir -p "$W/data"
pkg_tiny "$W/tiny"
echo one >"$W/data/a.txt"
cat >"$W/d.json" <<'JSON'
{"version": 1, "hosts": [{"name": "box", "backend": "local"}],
 "services": [{"name": "t", "kind": "crate", "on": "box", "src": "tiny",
               "files": ["data/a.txt", "./made.txt"]}],
 "targets": [{"name": "make", "cmd": ["sh", "-c", "echo made >made.txt"],
              "outputs": ["made.txt"]}]}
JSON

# the one package in .hydro/packages
package() { ls "$W"/.hydro/packages/*.tar.* 2>/dev/null | head -1; }
# list NAME...: the package's names, and its manifest's
unpack() {
	rm -rf "$T_TMP/x" && mkdir "$T_TMP/x" &&
		bsdtar -xf "$(package)" -C "$T_TMP/x" 2>/dev/null ||
		tar -xf "$(package)" -C "$T_TMP/x"
}

t_case "the JSON spec's files are written back as given, made relative"
t_run "$HYDRO" plan --json "$W/d.json"
t_expect_rc 0
t_expect_out '"files":	["data/a.txt", "made.txt"]'
t_end

t_case "the build packs them as files/NAME, with the manifest listing them"
t_run "$HYDRO" build "$W/d.json"
t_expect_rc 0
[ "$(builds)" = 1 ] || t_fail "cargo build ran $(builds) times"
[ "$(ls "$W"/.hydro/packages | wc -l)" = 1 ] || t_fail "packages: $(ls "$W"/.hydro/packages)"
if unpack; then
	[ "$(cat "$T_TMP/x/files/data/a.txt")" = one ] || t_fail "files/data/a.txt: $(ls -R "$T_TMP/x")"
	[ "$(cat "$T_TMP/x/files/made.txt")" = made ] || t_fail "the target's file was not packed"
	[ -x "$T_TMP/x/bin/tiny" ] || t_fail "no bin/tiny"
	grep -q '"files/data/a.txt"' "$T_TMP/x/hydro-manifest.json" ||
		t_fail "the manifest: $(cat "$T_TMP/x/hydro-manifest.json")"
else
	t_fail "cannot unpack $(package)"
fi
t_end

t_case "nothing changed: nothing packed again"
old=$(package)
t_run "$HYDRO" build "$W/d.json"
t_expect_rc 0
t_expect_err "nothing to do"
t_end

t_case "a declared file changed: a new package, no cargo build"
echo two >"$W/data/a.txt"
t_run "$HYDRO" build "$W/d.json"
t_expect_rc 0
t_expect_err "package tiny"
[ "$(builds)" = 1 ] || t_fail "cargo build ran again"
grep -q two "$T_TMP/err" && true
new=$(ls -t "$W"/.hydro/packages/*.tar.* | head -1)
[ "$new" != "$old" ] || t_fail "the same package"
t_end

t_case "a missing file is an error of the deployment, naming the service"
sed 's|"data/a.txt"|"data/nosuch.txt"|' "$W/d.json" >"$W/bad.json"
t_run "$HYDRO" plan "$W/bad.json"
t_expect_rc 1
t_expect_err "service 't': file 'data/nosuch.txt' (files=) does not exist, and no target makes it"
t_end

t_case "a file outside the config's folder is refused"
sed 's|"data/a.txt"|"../x"|' "$W/d.json" >"$W/bad.json"
t_run "$HYDRO" plan "$W/bad.json"
t_expect_rc 1
t_expect_err "file '../x' (files=) must be a path inside the config's folder"
t_end

t_case "Python: files= on a service, a missing one named at the script's line"
cat >"$W/p.py" <<'PY'
from hydro import Deployment

async def main():
    d = Deployment()
    h = d.Localhost()
    d.Process(["true"], on=h, files=["data/a.txt"], name="p")
    d.Process(["true"], on=h, files=["data/nosuch.txt"], name="q")
    await d.deploy()
PY
t_run "$HYDRO" plan "$W/p.py"
t_expect_rc 1
t_expect_err "p.py:7: service 'q': file 'data/nosuch.txt' (files=) does not exist"
t_end

t_done
