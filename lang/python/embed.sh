#!/bin/sh
# embed.sh FILE.py...: write, on stdout, the C file that carries the hydro
# package's sources inside the binary (struct python_source, python.h).
# Plain sh and od, so that the build needs nothing more.
set -e
echo '/* generated from lang/python/hydro by lang/python/embed.sh: do not edit */'
echo '#include "python.h"'
n=0
for f; do
	echo "static const unsigned char src$n[] = {"
	od -An -v -tx1 "$f" | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'
	echo "0 };"
	n=$((n + 1))
done
echo 'const struct python_source python_sources[] = {'
n=0
for f; do
	echo "	{ \"${f##*/}\", src$n, sizeof(src$n) - 1 },"
	n=$((n + 1))
done
echo '	{ 0, 0, 0 },'
echo '};'
