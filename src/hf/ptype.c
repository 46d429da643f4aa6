/*
 * ptype: the types of module ports, as the wiring sees them.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"
#include "hf/ptype.h"

/* the text with every white space removed, a new string */
static char *
squeeze(const char *s, size_t n)
{
	char *o = xmalloc(n + 1), *q = o;

	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)s[i]))
			*q++ = s[i];
	*q = '\0';
	return o;
}

int
hf_port_split(const char *type, char **inner)
{
	static const char *const addr[] = {
		"SocketAddr", "net::SocketAddr", "std::net::SocketAddr",
		"::std::net::SocketAddr", "core::net::SocketAddr",
	};
	size_t n = strlen(type), comma = 0, ncomma = 0;
	int depth = 0, is = 0;
	char *last;

	while (n && isspace((unsigned char)type[n - 1]))
		n--;
	while (*type && isspace((unsigned char)*type)) {
		type++;
		n--;
	}
	if (n >= 2 && type[0] == '(' && type[n - 1] == ')') {
		for (size_t i = 0; i < n; i++) {
			char c = type[i];

			if (c == '(' || c == '[' || c == '<' || c == '{')
				depth++;
			else if ((c == ')' || c == ']' || c == '}') || (c == '>' && (!i || type[i - 1] != '-')))
				depth--;
			else if (c == ',' && depth == 1) {
				comma = i;
				ncomma++;
			}
			if (depth == 0 && i != n - 1)
				break;
		}
	}
	if (ncomma == 1) {
		last = squeeze(type + comma + 1, n - 1 - comma - 1);
		for (size_t i = 0; i < sizeof(addr) / sizeof(addr[0]); i++)
			if (!strcmp(last, addr[i]))
				is = 1;
		free(last);
	}
	if (inner) {
		if (is) {
			size_t a = 1, b = comma;

			while (a < b && isspace((unsigned char)type[a]))
				a++;
			while (b > a && isspace((unsigned char)type[b - 1]))
				b--;
			*inner = xstrndup(type + a, b - a);
		} else {
			*inner = xstrndup(type, n);
		}
	}
	return is;
}


int
hf_port_compatible(const char *out, const char *in)
{
	char *a, *b, *sa, *sb;
	size_t na, nb;
	int ok;

	hf_port_split(out, &a);
	hf_port_split(in, &b);
	sa = squeeze(a, strlen(a));
	sb = squeeze(b, strlen(b));
	na = strlen(sa);
	nb = strlen(sb);
	/* `EchoMsg` and `data_types::EchoMsg` name the same type */
	ok = !strcmp(sa, sb) ||
	     (na > nb && !strcmp(sa + na - nb, sb) && na - nb >= 2 && !strncmp(sa + na - nb - 2, "::", 2)) ||
	     (nb > na && !strcmp(sb + nb - na, sa) && nb - na >= 2 && !strncmp(sb + nb - na - 2, "::", 2));
	free(a);
	free(b);
	free(sa);
	free(sb);
	return ok;
}
