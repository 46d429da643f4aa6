/*
 * glibc: whether a host's C library can run a program (glibc.h).  The
 * program's needs are read from its ELF version-needs section
 * (SHT_GNU_verneed: for each library, the symbol versions it uses); the
 * host's version from getconf, run on the host.
 */
#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "buf.h"
#include "error.h"
#include "glibc.h"
#include "str.h"
#include "xmalloc.h"

int
glibc_compare(const char *a, const char *b)
{
	while (*a || *b) {
		long x = strtol(a, (char **)&a, 10), y = strtol(b, (char **)&b, 10);

		if (x != y)
			return x < y ? -1 : 1;
		if (*a == '.')
			a++;
		if (*b == '.')
			b++;
		if ((*a && (*a < '0' || *a > '9')) || (*b && (*b < '0' || *b > '9')))
			break;
	}
	return 0;
}

/* keep name's version in out if it is a GLIBC_x.y newer than out's */
static void
newest(const char *name, size_t max, char out[GLIBC_VERSION_MAX])
{
	size_t n = strnlen(name, max);

	if (n < 7 || n >= GLIBC_VERSION_MAX + 6 || strncmp(name, "GLIBC_", 6) ||
	    name[6] < '0' || name[6] > '9' || strspn(name + 6, "0123456789.") != n - 6)
		return;	/* GLIBC_PRIVATE, GLIBC_ABI_DT_RELR... */
	if (!out[0] || glibc_compare(name + 6, out) > 0) {
		memcpy(out, name + 6, n - 6);
		out[n - 6] = '\0';
	}
}

/* a section header, of either class */
struct section {
	uint32_t type, link, info;
	uint64_t offset, size;
};

/* the i-th section header of the ELF file m (size bytes); -1 if it lies
 * outside the file */
static int
section(const unsigned char *m, size_t size, size_t i, struct section *out)
{
	if (m[EI_CLASS] == ELFCLASS64) {
		const Elf64_Ehdr *e = (const Elf64_Ehdr *)m;
		const Elf64_Shdr *sh;

		if (size < sizeof(*e) || e->e_shentsize != sizeof(*sh) ||
		    e->e_shoff > size || i >= (size - e->e_shoff) / sizeof(*sh))
			return -1;
		sh = (const Elf64_Shdr *)(m + e->e_shoff) + i;
		*out = (struct section){ sh->sh_type, sh->sh_link, sh->sh_info,
		                         sh->sh_offset, sh->sh_size };
	} else {
		const Elf32_Ehdr *e = (const Elf32_Ehdr *)m;
		const Elf32_Shdr *sh;

		if (size < sizeof(*e) || e->e_shentsize != sizeof(*sh) ||
		    e->e_shoff > size || i >= (size - e->e_shoff) / sizeof(*sh))
			return -1;
		sh = (const Elf32_Shdr *)(m + e->e_shoff) + i;
		*out = (struct section){ sh->sh_type, sh->sh_link, sh->sh_info,
		                         sh->sh_offset, sh->sh_size };
	}
	return out->offset > size || out->size > size - out->offset ? -1 : 0;
}

/* the number of section headers */
static size_t
nsections(const unsigned char *m, size_t size)
{
	if (m[EI_CLASS] == ELFCLASS64)
		return size < sizeof(Elf64_Ehdr) ? 0 : ((const Elf64_Ehdr *)m)->e_shnum;
	return size < sizeof(Elf32_Ehdr) ? 0 : ((const Elf32_Ehdr *)m)->e_shnum;
}

/*
 * The newest GLIBC_x.y of every version-needs section into out; -1 if the
 * file is damaged.  Verneed and Vernaux have one layout in both classes.
 */
static int
walk(const unsigned char *m, size_t size, char out[GLIBC_VERSION_MAX])
{
	size_t i, n = nsections(m, size);
	struct section vs, strs;

	for (i = 0; i < n; i++) {
		size_t off, end, k;

		if (section(m, size, i, &vs) < 0)
			return -1;
		if (vs.type != SHT_GNU_verneed)
			continue;
		if (vs.link >= n || section(m, size, vs.link, &strs) < 0)
			return -1;
		off = vs.offset;
		end = vs.offset + vs.size;
		for (k = 0; k < vs.info && off + sizeof(Elf64_Verneed) <= end; k++) {
			const Elf64_Verneed *vn = (const Elf64_Verneed *)(m + off);
			size_t aoff = off + vn->vn_aux, j;

			for (j = 0; j < vn->vn_cnt && aoff + sizeof(Elf64_Vernaux) <= end; j++) {
				const Elf64_Vernaux *va = (const Elf64_Vernaux *)(m + aoff);

				if (va->vna_name < strs.size)
					newest((const char *)m + strs.offset + va->vna_name,
					       strs.size - va->vna_name, out);
				if (!va->vna_next)
					break;
				aoff += va->vna_next;
			}
			if (!vn->vn_next)
				break;
			off += vn->vn_next;
		}
	}
	return 0;
}

int
glibc_needed(const char *path, char out[GLIBC_VERSION_MAX])
{
	const unsigned char *m;
	union { unsigned short s; unsigned char c[2]; } order = { 1 };
	struct stat st;
	int fd, ret;

	out[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_errno("cannot open '%s'", path);
	if (fstat(fd, &st) < 0 || st.st_size < EI_NIDENT) {
		close(fd);
		return error("cannot read '%s': not an ELF file", path);
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return error_errno("cannot read '%s'", path);
	if (memcmp(m, ELFMAG, SELFMAG)) {
		ret = error("cannot read '%s': not an ELF file", path);
	} else if (m[EI_DATA] != (order.c[0] ? ELFDATA2LSB : ELFDATA2MSB)) {
		ret = 0;	/* another byte order than ours: not read */
	} else {
		ret = walk(m, (size_t)st.st_size, out);
		if (ret < 0)
			ret = error("cannot read '%s': its ELF section headers are damaged",
			            path);
	}
	munmap((void *)m, (size_t)st.st_size);
	if (ret < 0)
		return -1;
	return out[0] ? 1 : 0;
}

int
glibc_of_host(struct host *h, char out[GLIBC_VERSION_MAX])
{
	char *said = host_libc(h);
	const char *v;

	out[0] = '\0';
	if (!said)
		return -1;
	/* "glibc 2.36"; a musl or BSD libc says nothing */
	v = str_starts(said, "glibc ") ? said + 6 : NULL;
	if (v && strspn(v, "0123456789.") > 0 && strspn(v, "0123456789.") < GLIBC_VERSION_MAX) {
		memcpy(out, v, strspn(v, "0123456789."));
		out[strspn(v, "0123456789.")] = '\0';
	}
	free(said);
	return out[0] ? 1 : 0;
}

int
glibc_check(struct host *h, const char *have, const char *exe,
            const char *service)
{
	char need[GLIBC_VERSION_MAX];
	int r;

	if ((r = glibc_needed(exe, need)) <= 0)
		return r;
	if (!have[0])
		return error("host '%s' has no glibc ('getconf GNU_LIBC_VERSION' does "
		             "not say one), and '%s' of service '%s' needs glibc %s; "
		             "deploy to a host with glibc %s or newer", h->name,
		             exe, service, need, need);
	if (glibc_compare(have, need) < 0)
		return error("host '%s' has glibc %s, and '%s' of service '%s' needs "
		             "glibc %s: upgrade the host to glibc %s or newer, or "
		             "build on a system with glibc %s or older", h->name, have,
		             exe, service, need, need, have);
	return 0;
}
