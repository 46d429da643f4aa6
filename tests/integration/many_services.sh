# Many services: each costs hydro a few descriptors (stdout, stderr, the
# control channel, the exit descriptor, the log files), so a few hundred
# services pass the usual soft limit of 1024 open files.  hydro should raise
# its soft limit up to the hard one rather than fail with EMFILE.
# Scaled down: 60 services under a soft limit of 256.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

t_case "60 services start under a soft limit of 256 open files (the hard limit is higher)"
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -le 512 ]; then
	echo "ok - $T_FILE: skipped: the hard limit of open files is $(ulimit -Hn)"
else
	{
		echo '{"version": 1, "hosts": [{"name": "box"}], "services": ['
		i=0
		while [ $i -lt 60 ]; do
			[ $i -gt 0 ] && echo ','
			echo "{\"name\": \"s$i\", \"kind\": \"hydroflow\", \"on\": \"box\", \"src\": \"x.hf\", \"standin\": [\"$NODE\", \"idle\"]}"
			i=$((i + 1))
		done
		echo ']}'
	} >"$W/many.json"
	(ulimit -Sn 256 && exec "$HYDRO" run "$W/many.json") >"$T_TMP/out" 2>"$T_TMP/err" &
	HPID=$!
	l_wait "[ \$(grep -c 'node idle' '$T_TMP/err') -ge 60 ] || ! kill -0 $HPID" 150 ||
		t_fail "the services did not come up in 15 s"
	kill -INT $HPID 2>/dev/null
	l_wait "! kill -0 $HPID" 100 || { t_fail "hydro did not end"; kill -9 $HPID; }
	wait $HPID
	rc=$?
	t_expect_rc 130
	grep -q 'Too many open files' "$T_TMP/err" &&
		t_fail "$(grep -c 'Too many open files' "$T_TMP/err") launches failed: $(grep -m1 'Too many open files' "$T_TMP/err")"
	l_wait "[ -z \"\$(l_live)\" ]" 30
	l_expect_clean many
	t_end
fi

t_done
