/* _dl_find_object for static musl test binaries (make router-test-lib).
 *
 * std on musl links a static libunwind; make router-test-lib uses gcc's
 * libgcc_eh.a for it. Debian's gcc 12 for glibc targets with DWARF
 * unwinding (MIPS, aarch64; not ARM EHABI) builds that unwinder to find a
 * PC's unwind tables with glibc 2.35's _dl_find_object, which musl has
 * not. This is enough of it for the unwinder: the .eh_frame_hdr
 * (PT_GNU_EH_FRAME) of the loaded object that holds pc, found with
 * dl_iterate_phdr (which musl has, static binaries included). The struct
 * is glibc's generic layout (DLFO_STRUCT_HAS_EH_DBASE and _EH_COUNT 0).
 *
 * Also: that libgcc_eh calls pthread_once and friends through weak
 * references (glibc's way of asking "is libpthread linked?"), and a weak
 * reference does not pull a member out of musl's static libc.a: the
 * symbol stays 0, and the first unwind (any panic) calls address 0
 * (SIGSEGV in uw_init_context_1's __gthread_once). The strong references
 * below pull them in; this object is linked because the unwinder needs
 * _dl_find_object. */
#define _GNU_SOURCE
#include <link.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct dl_find_object {
    unsigned long long dlfo_flags;
    void *dlfo_map_start;
    void *dlfo_map_end;
    struct link_map *dlfo_link_map;
    void *dlfo_eh_frame;
    unsigned long long dlfo_reserved[7];
};

struct search {
    uintptr_t pc;
    struct dl_find_object *out;
    int found;
};

static int visit(struct dl_phdr_info *info, size_t size, void *arg) {
    struct search *s = arg;
    const ElfW(Phdr) *eh = NULL;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    int holds = 0;
    (void)size;
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + p->p_vaddr;
        if (p->p_type == PT_LOAD) {
            if (s->pc >= start && s->pc < start + p->p_memsz)
                holds = 1;
            if (start < lo)
                lo = start;
            if (start + p->p_memsz > hi)
                hi = start + p->p_memsz;
        } else if (p->p_type == PT_GNU_EH_FRAME) {
            eh = p;
        }
    }
    if (!holds)
        return 0;
    s->out->dlfo_flags = 0;
    s->out->dlfo_map_start = (void *)lo;
    s->out->dlfo_map_end = (void *)hi;
    s->out->dlfo_link_map = NULL;
    s->out->dlfo_eh_frame = eh ? (void *)(info->dlpi_addr + eh->p_vaddr) : NULL;
    s->found = 1;
    return 1;
}

int _dl_find_object(void *pc, struct dl_find_object *result) {
    struct search s = { (uintptr_t)pc, result, 0 };
    dl_iterate_phdr(visit, &s);
    return s.found ? 0 : -1;
}

void *const picosel_libgcc_eh_pthread_refs[] = {
    (void *)pthread_once, (void *)pthread_mutex_lock, (void *)pthread_mutex_unlock,
    (void *)pthread_key_create, (void *)pthread_getspecific, (void *)pthread_setspecific,
};
