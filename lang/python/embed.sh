#!/bin/sh
# embed.sh BOOT.py FILE.py...: write, on stdout, the C file that carries the
# hydro package inside the binary (struct python_source, python.h): each
# file's source, and its code object marshalled by $PYTHON when that is
# set, so that a config does not compile the package every time it starts;
# BOOT.py, what runs before the package, as python_boot.  The code is used
# only when the interpreter's magic number is python_magic (the same Python
# version); else the source is compiled as before.  Plain sh and od, so
# that the build needs nothing more.
set -e
boot=$1
shift
tmp=${TMPDIR:-/tmp}/hydro-embed.$$
trap 'rm -f "$tmp"' EXIT
compile='import marshal, sys
src = open(sys.argv[1], "rb").read()
sys.stdout.buffer.write(marshal.dumps(compile(src, sys.argv[2], "exec", dont_inherit=True)))'
magic='import importlib.util, sys
sys.stdout.buffer.write(importlib.util.MAGIC_NUMBER)'
hex() {
	od -An -v -tx1 "$1" | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'
}
code=
if [ -n "$PYTHON" ] && "$PYTHON" -c "$magic" >"$tmp" 2>/dev/null; then
	code=1
fi
echo '/* generated from lang/python/hydro by lang/python/embed.sh: do not edit */'
echo '#include "python.h"'
echo 'const unsigned char python_magic[] = {'
if [ -n "$code" ]; then hex "$tmp"; else echo '0, 0, 0, 0,'; fi
echo '};'
# one file as src$2 and code$2 (and code$2_len), compiled as file name $3
embed() {
	echo "static const unsigned char src$2[] = {"
	hex "$1"
	echo "0 };"
	echo "static const unsigned char code$2[] = {"
	if [ -n "$code" ] && "$PYTHON" -c "$compile" "$1" "$3" >"$tmp"; then
		hex "$tmp"
		echo "0 };"
		echo "#define code${2}_len (sizeof(code$2) - 1)"
	else
		echo "0 };"
		echo "#define code${2}_len 0"
	fi
}
embed "$boot" _boot "<built-in>/hydro/_boot.py"
echo 'const struct python_source python_boot ='
echo '	{ "_boot.py", src_boot, sizeof(src_boot) - 1, code_boot, code_boot_len };'
n=0
for f; do
	embed "$f" $n "<built-in>/hydro/${f##*/}"
	n=$((n + 1))
done
echo 'const struct python_source python_sources[] = {'
n=0
for f; do
	echo "	{ \"${f##*/}\", src$n, sizeof(src$n) - 1, code$n, code${n}_len },"
	n=$((n + 1))
done
echo '	{ 0, 0, 0, 0, 0 },'
echo '};'
