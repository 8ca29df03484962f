# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, embedsignature=False
"""The compiled index behind ``Agreements.decide``: one flat table of (lender, home) pairs.

Why compiled: a decision must not slow down as the set grows. With a million agreements a Python
index is a heap of objects several gigabytes large, and each decision touched a dozen of them at
random (dicts, lists, rule objects, dates, frozensets), each a cache miss. Here every agreement is
a 24-byte ``Rule`` (its days, generosity rank, profile and id), copied into the block of each
(lender, home) pair it covers. A pair is a 192-byte slot (three cache lines, asked for together)
of an open-addressing hash table, placed by the hashes of the two library ids, that holds up to
seven rules itself; larger blocks live in ``Index.entries``. What agreements share (category set, standing, excluded material, terms: a
``Profile``, and the sets and limits it names) is stored once and referred to by number. A
decision reads one slot (asked for before the libraries are looked up), perhaps one block, and
the Python objects it returns; the ids are copies made together at build time, the terms shared
by value.

``policies.agreements`` turns the pydantic models into the rows ``Index._build`` takes; this module
knows nothing of YAML or pydantic. The rules of docs/agreements.md are in ``Index.decide``, in the
same order: refusals, suspensions, bilateral before consortium, admission, terms.
"""

from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from libc.stdint cimport int32_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, qsort
from libc.string cimport memcpy, memset

cimport cpython.datetime as dt

import dataclasses
from datetime import date

from policies.decision import BorrowRequest, Code, Decision, Reason
from policies.model import FLAGS

cdef extern from *:
    """
    #include <stdlib.h>
    #include <string.h>
    #include <time.h>
    #include <sys/mman.h>
    #include "structmember.h"

    /* The offset of a __slots__ member in its instances, from its member descriptor; -1 if the
       attribute is not a plain object slot. */
    static Py_ssize_t hub_slot_offset(PyObject *descr) {
        if (!PyObject_TypeCheck(descr, &PyMemberDescr_Type)) return -1;
        PyMemberDef *m = ((PyMemberDescrObject *)descr)->d_member;
        if (m->type != T_OBJECT_EX || (m->flags & READONLY)) return -1;
        return m->offset;
    }
    /* A new instance of a __slots__ class, not initialised: every slot set below, none left
       empty (an empty slot reads as AttributeError, never as garbage). */
    static PyObject *hub_alloc(PyObject *type) {
        PyTypeObject *t = (PyTypeObject *)type;
        return t->tp_alloc(t, 0);
    }
    static inline void hub_slot_steal(PyObject *obj, Py_ssize_t offset, PyObject *value) {
        *(PyObject **)((char *)obj + offset) = value;
    }
    static inline void hub_slot_set(PyObject *obj, Py_ssize_t offset, PyObject *value) {
        Py_INCREF(value);
        *(PyObject **)((char *)obj + offset) = value;
    }
    static inline PyObject *hub_slot_get(PyObject *obj, Py_ssize_t offset) {
        return *(PyObject **)((char *)obj + offset);
    }
    /* time.time(), computed as CPython computes it. */
    static double hub_wall_time(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (double)((long long)ts.tv_sec * 1000000000LL + ts.tv_nsec) / 1e9;
    }
    /* Large tables on transparent huge pages where the kernel offers them: a random lookup in
       a table of hundreds of megabytes then costs one cache miss, not also a TLB miss. */
    static void *hub_big_alloc(size_t size) {
        void *p = NULL;
        size_t align = (size_t)2 << 20;
        if (size == 0) size = 1;
        if (size >= align) {
            size = (size + align - 1) & ~(align - 1);
            if (posix_memalign(&p, align, size) != 0) return NULL;
    #ifdef MADV_HUGEPAGE
            madvise(p, size, MADV_HUGEPAGE);
    #endif
            return p;
        }
        /* smaller tables: aligned to a cache line, so that a slot fills exactly three */
        if (posix_memalign(&p, 64, size) != 0) return NULL;
        return p;
    }

    """
    Py_ssize_t hub_slot_offset(object descr)
    object hub_alloc(object type)
    void hub_slot_steal(object obj, Py_ssize_t offset, PyObject *value)
    void hub_slot_set(object obj, Py_ssize_t offset, object value)
    PyObject *hub_slot_get(object obj, Py_ssize_t offset)
    double hub_wall_time()
    void *hub_big_alloc(size_t size)
    void __builtin_prefetch(const void *address)

cdef extern from "Python.h":
    PyObject *PyDict_GetItemWithError(object d, object key)
    PyObject *PyErr_Occurred()

dt.import_datetime()

# --- the Python objects decisions are made of ------------------------------------------------------

cdef object _Decision = Decision
cdef object _Reason = Reason
cdef object _Request = BorrowRequest
cdef object _EMPTY = ()


cdef Py_ssize_t _offset(object cls, str name) except -1:
    offset = hub_slot_offset(cls.__dict__[name])
    if offset < 0:
        raise TypeError(f"{cls.__name__}.{name} is not a __slots__ member")
    return offset


# Decision's slots, in the order of its fields
cdef Py_ssize_t D_ELIGIBLE = _offset(Decision, "eligible")
cdef Py_ssize_t D_LENDER = _offset(Decision, "lender")
cdef Py_ssize_t D_HOME = _offset(Decision, "home_library")
cdef Py_ssize_t D_CATEGORY = _offset(Decision, "patron_category")
cdef Py_ssize_t D_TERMS = _offset(Decision, "terms")
cdef Py_ssize_t D_AGREEMENTS = _offset(Decision, "agreements")
cdef Py_ssize_t D_REASONS = _offset(Decision, "reasons")
cdef Py_ssize_t D_VALID_UNTIL = _offset(Decision, "valid_until")
cdef Py_ssize_t D_DECIDED_AT = _offset(Decision, "decided_at")
cdef Py_ssize_t R_CODE = _offset(Reason, "code")
cdef Py_ssize_t R_AGREEMENT = _offset(Reason, "agreement")
cdef Py_ssize_t R_FACTS = _offset(Reason, "facts")
# BorrowRequest's, read directly when the request is exactly a BorrowRequest
cdef Py_ssize_t Q_LENDER = _offset(BorrowRequest, "lender")
cdef Py_ssize_t Q_HOME = _offset(BorrowRequest, "home_library")
cdef Py_ssize_t Q_CATEGORY = _offset(BorrowRequest, "category")
cdef Py_ssize_t Q_ON = _offset(BorrowRequest, "on")
cdef Py_ssize_t Q_MATERIAL = _offset(BorrowRequest, "material")
cdef Py_ssize_t Q_FINES = _offset(BorrowRequest, "fines")
cdef Py_ssize_t Q_FLAGS = _offset(BorrowRequest, "flags")
cdef Py_ssize_t Q_EXPIRES = _offset(BorrowRequest, "card_expires")

# every field of Decision and Reason is set by this module (Decision_new, Reason_new): a new field
# must be filled here too, or its instances would have an empty slot
def _check_fields(cls: type, expected: set[str]) -> None:
    names = {f.name for f in dataclasses.fields(cls)}
    if names != expected:
        raise TypeError(f"policies._index fills {sorted(expected)} of {cls.__name__}, "
                        f"which has {sorted(names)}: update _index.pyx")


_check_fields(Decision, {"eligible", "lender", "home_library", "patron_category", "terms",
                         "agreements", "reasons", "valid_until", "decided_at"})
_check_fields(Reason, {"code", "agreement", "facts"})
if len(FLAGS) > 16:
    raise TypeError(f"{len(FLAGS)} patron flags do not fit the index's 16-bit sets")

cdef object C_NO_AGREEMENT = Code.NO_AGREEMENT
cdef object C_CATEGORY_NOT_COVERED = Code.CATEGORY_NOT_COVERED
cdef object C_NOT_YET_IN_FORCE = Code.NOT_YET_IN_FORCE
cdef object C_ENDED = Code.ENDED
cdef object C_SUSPENDED = Code.SUSPENDED
cdef object C_CARD_EXPIRED = Code.CARD_EXPIRED
cdef object C_FINES_OVER_LIMIT = Code.FINES_OVER_LIMIT
cdef object C_BLOCKING_FLAG = Code.BLOCKING_FLAG
cdef object C_MATERIAL_EXCLUDED = Code.MATERIAL_EXCLUDED
cdef object C_UNKNOWN_LIBRARY = Code.UNKNOWN_LIBRARY
cdef object C_UNKNOWN_CATEGORY = Code.UNKNOWN_CATEGORY
cdef object C_OWN_LIBRARY = Code.OWN_LIBRARY

#: the patron flags in alphabetical order: bit i is SORTED_FLAGS[i], so that the blocking flags
#: of a refusal come out sorted by walking the bits
SORTED_FLAGS = tuple(sorted(FLAGS))
FLAG_BITS = {flag: 1 << i for i, flag in enumerate(SORTED_FLAGS)}
cdef dict _FLAG_BITS = FLAG_BITS
cdef tuple _SORTED_FLAGS = SORTED_FLAGS


cdef inline Reason_new(object code, object agreement, object facts):
    reason = hub_alloc(_Reason)
    hub_slot_set(reason, R_CODE, code)
    hub_slot_set(reason, R_AGREEMENT, agreement)
    hub_slot_set(reason, R_FACTS, facts)
    return reason


cdef inline Decision_new(
    bint eligible, object lender, object home, object category, object terms,
    object agreements, object reasons, object valid_until,
):
    decision = hub_alloc(_Decision)
    hub_slot_set(decision, D_ELIGIBLE, True if eligible else False)
    hub_slot_set(decision, D_LENDER, lender)
    hub_slot_set(decision, D_HOME, home)
    hub_slot_set(decision, D_CATEGORY, category)
    hub_slot_set(decision, D_TERMS, terms)
    hub_slot_set(decision, D_AGREEMENTS, agreements)
    hub_slot_set(decision, D_REASONS, reasons)
    hub_slot_set(decision, D_VALID_UNTIL, valid_until)
    hub_slot_set(decision, D_DECIDED_AT, hub_wall_time())
    return decision


# --- dates as day numbers (date.toordinal) ---------------------------------------------------------

cdef int32_t _DAYS_BEFORE_MONTH[13]
cdef int32_t _DAYS_IN_MONTH[13]
_DAYS_BEFORE_MONTH[:] = [-1, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]
_DAYS_IN_MONTH[:] = [-1, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


cdef inline bint _leap(int32_t y) noexcept nogil:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


cdef inline bint _complete(object request) noexcept:
    """Whether every slot of an exact BorrowRequest is set (always, unless someone deleted one
    behind the frozen dataclass's back)."""
    return (
        hub_slot_get(request, Q_LENDER) != NULL and hub_slot_get(request, Q_HOME) != NULL
        and hub_slot_get(request, Q_CATEGORY) != NULL and hub_slot_get(request, Q_ON) != NULL
        and hub_slot_get(request, Q_MATERIAL) != NULL and hub_slot_get(request, Q_FINES) != NULL
        and hub_slot_get(request, Q_FLAGS) != NULL and hub_slot_get(request, Q_EXPIRES) != NULL
    )


cdef inline int32_t _ordinal(object day) noexcept:
    """date.toordinal() of a date (or a subclass of date)."""
    cdef int32_t y = dt.date_year(day), m = dt.date_month(day), d = dt.date_day(day)
    cdef int32_t p = y - 1
    return p * 365 + p // 4 - p // 100 + p // 400 + _DAYS_BEFORE_MONTH[m] + (
        1 if m > 2 and _leap(y) else 0
    ) + d


cdef object _date(int32_t ordinal):
    """date.fromordinal(ordinal): the algorithm of CPython's datetime module."""
    cdef int32_t n = ordinal - 1, n400, n100, n4, n1, year, month, preceding
    cdef bint leapyear
    n400 = n // 146097
    n = n % 146097
    year = n400 * 400 + 1
    n100 = n // 36524
    n = n % 36524
    n4 = n // 1461
    n = n % 1461
    n1 = n // 365
    n = n % 365
    year += n100 * 100 + n4 * 4 + n1
    if n1 == 4 or n100 == 4:
        return dt.date_new(year - 1, 12, 31)
    leapyear = n1 == 3 and (n4 != 24 or n100 == 3)
    month = (n + 50) >> 5
    preceding = _DAYS_BEFORE_MONTH[month] + (1 if month > 2 and leapyear else 0)
    if preceding > n:
        month -= 1
        preceding -= _DAYS_IN_MONTH[month] + (1 if month == 2 and leapyear else 0)
    return dt.date_new(year, month, n - preceding + 1)


def ordinal(day: object) -> int:
    """date.toordinal(), as the index computes it (for tests)."""
    return _ordinal(day)


def from_ordinal(n: int) -> object:
    """date.fromordinal(), as the index computes it (for tests)."""
    return _date(n)


# --- the tables ------------------------------------------------------------------------------------

cdef enum:
    SUSPENSION = 0
    BILATERAL = 1
    CONSORTIUM = 2
    INLINE = 7           # a pair with at most this many rules keeps them in its slot

#: the last day of an agreement without ``until``: after date.max, so that every day is before it
cdef int32_t OPEN_END = 3652060

ctypedef struct Rule:
    int32_t start        # first day in force (day number; 1, date.min, when open)
    int32_t end          # last day in force; OPEN_END when effective.until is absent
    int32_t rank         # most generous first: most items, then longest loan, then id
    int32_t profile      # what the agreement shares with others: Index.profiles
    PyObject *id         # the agreement id (str), kept alive by Index._keep

ctypedef struct Profile:
    int32_t cats         # category set number; -1: every category (a suspension without any)
    int32_t excl         # excluded-material set number; -1: none
    int32_t fines        # max_fines as a position in the sorted limits; -1: no limit
    uint16_t blocking    # blocking flags (FLAG_BITS)
    uint8_t must_valid   # standing.card_must_be_valid
    uint8_t kind
    PyObject *terms      # Terms; for a suspension, its reason (str)

ctypedef struct Slot:
    int32_t lender       # -1: empty
    int32_t home
    uint32_t off         # where the pair's rules are in Index.entries, if not inline
    uint32_t n[3]        # how many suspensions, bilaterals, consortia, in that order
    Rule inline_[INLINE]

if sizeof(Rule) != 24 or sizeof(Slot) != 192:  # three cache lines a slot, seven rules in it
    raise ImportError(f"unexpected layout: Rule {sizeof(Rule)} bytes, Slot {sizeof(Slot)} bytes")

cdef struct Found:
    Rule **rules
    Py_ssize_t n
    Py_ssize_t cap
    Rule *inline_[16]


cdef inline uint64_t _place(Py_hash_t lender, Py_hash_t home) noexcept nogil:
    """Where a pair's slot is: from the hashes of the two library ids (cached in the strings),
    so that a decision can ask for the slot before it has looked the libraries up."""
    cdef uint64_t h = <uint64_t>lender * <uint64_t>0x9E3779B97F4A7C15
    h ^= (<uint64_t>home + <uint64_t>0x632BE59BD9B4E019) * <uint64_t>0xC2B2AE3D27D4EB4F
    return h ^ (h >> 29)


cdef inline int _push(Found *found, Rule *rule) except -1:
    cdef Rule **grown
    if found.n == found.cap:
        grown = <Rule **>malloc(found.cap * 2 * sizeof(Rule *))
        if grown == NULL:
            raise MemoryError()
        memcpy(grown, found.rules, found.n * sizeof(Rule *))
        if found.rules != found.inline_:
            free(found.rules)
        found.rules = grown
        found.cap *= 2
    found.rules[found.n] = rule
    found.n += 1
    __builtin_prefetch(rule.id)  # the decision will name it
    return 0


cdef inline void _found_init(Found *found) noexcept:
    found.rules = found.inline_
    found.n = 0
    found.cap = 16


cdef inline void _found_free(Found *found) noexcept:
    if found.rules != found.inline_:
        free(found.rules)
        found.rules = found.inline_


cdef int _by_rank(const void *a, const void *b) noexcept nogil:
    cdef int32_t x = (<Rule **>a)[0].rank, y = (<Rule **>b)[0].rank
    return (x > y) - (x < y)


cdef class Index:
    """Agreements compiled for ``decide``. Built once by ``Agreements.__init__`` (``_build``)."""

    cdef Rule *rules
    cdef Py_ssize_t nrules
    cdef Profile *profiles
    cdef Slot *slots
    cdef uint64_t nslots
    cdef int shift
    cdef Py_hash_t *lib_hash     # hash() of each library id
    cdef Rule *entries
    cdef size_t nentries
    # consortia too large to expand into pairs: per lender, the rules and their members
    cdef uint32_t *large_off
    cdef Rule *large
    cdef uint64_t *large_members
    cdef Py_ssize_t lib_words
    # category sets as bit sets over the hub categories
    cdef uint64_t *catsets
    cdef Py_ssize_t cat_words
    cdef dict _lib_ids
    cdef dict _cat_ids
    cdef list _cat_sets
    cdef list _excluded
    cdef list _limits
    cdef list _keep
    cdef object _hub_categories

    def __cinit__(self, *args: object, **kwargs: object) -> None:
        self.rules = NULL
        self.lib_hash = NULL
        self.profiles = NULL
        self.slots = NULL
        self.entries = NULL
        self.large_off = NULL
        self.large = NULL
        self.large_members = NULL
        self.catsets = NULL

    def __dealloc__(self) -> None:
        free(self.rules)
        free(self.lib_hash)
        free(self.profiles)
        free(self.slots)
        free(self.entries)
        free(self.large_off)
        free(self.large)
        free(self.large_members)
        free(self.catsets)

    def _build(
        self,
        list library_ids,
        list categories,
        object hub_categories,
        list category_sets,
        list excluded,
        list limits,
        list profiles,
        list rows,
        Py_ssize_t expand_up_to,
    ) -> None:
        """Compile the rows of ``policies.agreements._rows``.

        ``categories`` numbers the hub categories; ``category_sets`` are the distinct category
        sets of the agreements (frozensets of names), ``excluded`` the distinct excluded-material
        frozensets, ``limits`` the distinct ``max_fines`` values sorted by value. A profile is
        ``(kind, cats, excl, fines, blocking, must_valid, terms or reason)``, kind 0 suspension,
        1 bilateral, 2 consortium, numbers indexing the lists above (-1: none). A row is
        ``(id, start, end, rank, profile, lender, homes)``: day numbers (``end`` None when
        open), library positions (a consortium's members are its ``homes``, its lender -1).
        """
        if self.lib_hash != NULL:
            raise RuntimeError("an index is built once: make a new Agreements")
        cdef Py_ssize_t nlib = len(library_ids), i, j, k, w
        cdef Rule *rule
        cdef Slot *slot
        cdef Profile *profile
        cdef int32_t lender
        cdef size_t edges = 0, pairs_bound, cap, large_count = 0, total, count
        cdef uint32_t *cursor
        cdef uint64_t h
        cdef tuple row, homes
        cdef list large = []       # the consortia too large to expand, by row
        self._lib_ids = {lib: n for n, lib in enumerate(library_ids)}
        self.lib_hash = <Py_hash_t *>malloc(max(1, nlib) * sizeof(Py_hash_t))
        if self.lib_hash == NULL:
            raise MemoryError()
        for i in range(nlib):
            self.lib_hash[i] = hash(library_ids[i])
        self._cat_ids = {cat: n for n, cat in enumerate(categories)}
        self._hub_categories = hub_categories
        self._cat_sets = category_sets
        self._excluded = excluded
        self._limits = limits
        self._keep = [profiles, [row[0] for row in rows]]

        # category sets as bit sets
        self.cat_words = (len(categories) + 63) // 64 or 1
        self.catsets = <uint64_t *>malloc(max(1, len(category_sets)) * self.cat_words * 8)
        if self.catsets == NULL:
            raise MemoryError()
        memset(self.catsets, 0, max(1, len(category_sets)) * self.cat_words * 8)
        for i, names in enumerate(category_sets):
            for name in names:
                k = self._cat_ids.get(name, -1)
                if k >= 0:
                    self.catsets[i * self.cat_words + k // 64] |= (<uint64_t>1) << (k % 64)

        self.profiles = <Profile *>malloc(max(1, len(profiles)) * sizeof(Profile))
        if self.profiles == NULL:
            raise MemoryError()
        for i in range(len(profiles)):
            row = <tuple>profiles[i]
            profile = &self.profiles[i]
            profile.kind = row[0]
            profile.cats = row[1]
            profile.excl = row[2]
            profile.fines = row[3]
            profile.blocking = row[4]
            profile.must_valid = row[5]
            profile.terms = <PyObject *>row[6]

        # one Rule per agreement; count the pair entries
        self.nrules = len(rows)
        self.rules = <Rule *>malloc(max(1, self.nrules) * sizeof(Rule))
        if self.rules == NULL:
            raise MemoryError()
        for i in range(self.nrules):
            row = <tuple>rows[i]
            rule = &self.rules[i]
            rule.id = <PyObject *>row[0]
            rule.start = row[1]
            rule.end = OPEN_END if row[2] is None else row[2]
            rule.rank = row[3]
            rule.profile = row[4]
            homes = <tuple>row[6]
            if self.profiles[rule.profile].kind == CONSORTIUM:
                k = len(homes)
                if k > expand_up_to:
                    large.append(i)
                    large_count += k
                else:
                    edges += k * (k - 1)
            else:
                edges += len(homes)
        if edges >= 0xFFFFFFFF:
            raise OverflowError("too many (lender, home) entries for one index")

        # the pair table: at most 70% full
        pairs_bound = min(edges, <size_t>nlib * <size_t>nlib)
        cap = 16
        self.shift = 60
        while cap * 7 < pairs_bound * 10:
            cap *= 2
            self.shift -= 1
        self.nslots = cap
        self.slots = <Slot *>hub_big_alloc(cap * sizeof(Slot))
        if self.slots == NULL:
            raise MemoryError()
        memset(self.slots, 0, cap * sizeof(Slot))
        for h in range(cap):
            self.slots[h].lender = -1
            self.slots[h].home = -1

        # pass 1: count each pair's rules of each kind
        self._into_pairs(rows, expand_up_to, NULL)

        # each pair's block: suspensions, then bilaterals, then consortia; in the slot itself
        # when it is small enough, else in Index.entries
        cursor = <uint32_t *>malloc(cap * 3 * sizeof(uint32_t))
        if cursor == NULL:
            raise MemoryError()
        total = 0
        for h in range(cap):
            slot = &self.slots[h]
            if slot.lender < 0:
                continue
            count = slot.n[0] + slot.n[1] + slot.n[2]
            if count > INLINE:
                slot.off = <uint32_t>total
                total += count
            cursor[3 * h] = 0  # positions within the block (_block)
            cursor[3 * h + 1] = slot.n[0]
            cursor[3 * h + 2] = cursor[3 * h + 1] + slot.n[1]
        self.nentries = total
        self.entries = <Rule *>hub_big_alloc(max(1, total) * sizeof(Rule))
        if self.entries == NULL:
            free(cursor)
            raise MemoryError()

        # pass 2: copy each rule into its pairs' blocks, in the order of the set
        try:
            self._into_pairs(rows, expand_up_to, cursor)
        finally:
            free(cursor)

        # large consortia: each member scans its own, with the members as a bit set
        self.lib_words = (nlib + 63) // 64 or 1
        self.large_off = <uint32_t *>malloc((nlib + 1) * sizeof(uint32_t))
        self.large = <Rule *>malloc(max(1, large_count) * sizeof(Rule))
        self.large_members = <uint64_t *>malloc(max(1, large_count) * self.lib_words * 8)
        if self.large_off == NULL or self.large == NULL or self.large_members == NULL:
            raise MemoryError()
        memset(self.large_off, 0, (nlib + 1) * sizeof(uint32_t))
        memset(self.large_members, 0, max(1, large_count) * self.lib_words * 8)
        for i in large:
            homes = <tuple>(<tuple>rows[i])[6]
            for k in range(len(homes)):
                self.large_off[<int32_t>homes[k] + 1] += 1
        for k in range(nlib):
            self.large_off[k + 1] += self.large_off[k]
        cursor = <uint32_t *>malloc((nlib + 1) * sizeof(uint32_t))
        if cursor == NULL:
            raise MemoryError()
        memcpy(cursor, self.large_off, (nlib + 1) * sizeof(uint32_t))
        for i in large:
            homes = <tuple>(<tuple>rows[i])[6]
            for k in range(len(homes)):
                j = cursor[<int32_t>homes[k]]
                cursor[<int32_t>homes[k]] += 1
                self.large[j] = self.rules[i]
                for w in range(len(homes)):
                    lender = homes[w]
                    self.large_members[j * self.lib_words + lender // 64] |= (
                        (<uint64_t>1) << (lender % 64)
                    )
        free(cursor)

    cdef int _into_pairs(self, list rows, Py_ssize_t expand_up_to, uint32_t *cursor) except -1:
        """Each rule under each (lender, home) pair it covers, in the order of the set (a
        consortium under every ordered pair of its members, unless it is too large to expand):
        counted in the pair's slot when ``cursor`` is NULL (pass 1), else copied into the pair's
        block at the pair's cursor for its kind (pass 2)."""
        cdef Py_ssize_t i, j, k, nhomes
        cdef int32_t kind, lender
        cdef Rule *rule
        cdef tuple row, homes
        for i in range(self.nrules):
            row = <tuple>rows[i]
            rule = &self.rules[i]
            kind = self.profiles[rule.profile].kind
            homes = <tuple>row[6]
            nhomes = len(homes)
            if kind == CONSORTIUM:
                if nhomes > expand_up_to:
                    continue
                for j in range(nhomes):
                    for k in range(nhomes):
                        if j != k:
                            self._file(rule, kind, <int32_t>homes[j], <int32_t>homes[k], cursor)
            else:
                lender = row[5]
                for k in range(nhomes):
                    self._file(rule, kind, lender, <int32_t>homes[k], cursor)
        return 0

    cdef inline void _file(
        self, Rule *rule, int32_t kind, int32_t lender, int32_t home, uint32_t *cursor
    ) noexcept:
        cdef Slot *slot = self._slot_for(lender, home)
        cdef uint64_t h
        if cursor == NULL:
            slot.n[kind] += 1
            return
        h = slot - self.slots
        self._block(slot)[cursor[3 * h + kind]] = rule[0]
        cursor[3 * h + kind] += 1

    cdef inline Rule *_block(self, Slot *slot) noexcept:
        """The pair's rules: suspensions, then bilaterals, then consortia."""
        if slot.n[0] + slot.n[1] + slot.n[2] <= INLINE:
            return slot.inline_
        return self.entries + slot.off

    cdef Slot *_slot_for(self, int32_t lender, int32_t home) noexcept:
        """The pair's slot, claimed if new (building only: the table has room for every pair)."""
        cdef uint64_t mask = self.nslots - 1
        cdef uint64_t h = _place(self.lib_hash[lender], self.lib_hash[home]) >> self.shift
        cdef Slot *slot
        while True:
            slot = &self.slots[h & mask]
            if slot.lender == lender and slot.home == home:
                return slot
            if slot.lender < 0:
                slot.lender = lender
                slot.home = home
                return slot
            h += 1

    cdef inline Slot *_find(self, int32_t lender, int32_t home, uint64_t h) noexcept:
        cdef uint64_t mask = self.nslots - 1
        cdef Slot *slot
        while True:
            slot = &self.slots[h & mask]
            if slot.lender == lender and slot.home == home:
                return slot
            if slot.lender < 0:
                return NULL
            h += 1

    cdef inline bint _covers(self, Rule *rule, int32_t cat) noexcept:
        cdef int32_t cats = self.profiles[rule.profile].cats
        if cats < 0:
            return True
        return (self.catsets[cats * self.cat_words + cat // 64] >> (cat % 64)) & 1

    # --- deciding ----------------------------------------------------------------------------

    def decide(self, request: BorrowRequest) -> Decision:
        """May ``request.lender`` lend to this patron? The decision rules (docs/agreements.md):

        1. nothing applies: not eligible (default deny), saying why each near miss did not apply;
        2. a suspension in force for (lender, home) and the category denies, whatever else applies;
        3. bilateral agreements in force covering the category decide; only if none does, consortia;
        4. eligible if any deciding agreement admits the patron (standing, material); the terms
           are the most generous admitting agreement's (most items, then longest loan).
        """
        cdef object lender, home, category, on, material, fines, flags, expires
        if type(request) is _Request and _complete(request):
            lender = <object>hub_slot_get(request, Q_LENDER)
            home = <object>hub_slot_get(request, Q_HOME)
            category = <object>hub_slot_get(request, Q_CATEGORY)
            on = <object>hub_slot_get(request, Q_ON)
            material = <object>hub_slot_get(request, Q_MATERIAL)
            fines = <object>hub_slot_get(request, Q_FINES)
            flags = <object>hub_slot_get(request, Q_FLAGS)
            expires = <object>hub_slot_get(request, Q_EXPIRES)
        else:
            if not isinstance(request, _Request):
                raise TypeError(f"decide takes a BorrowRequest, not {type(request).__name__}")
            lender = request.lender
            home = request.home_library
            category = request.category
            on = request.on
            material = request.material
            fines = request.fines
            flags = request.flags
            expires = request.card_expires
            if not isinstance(on, date) or not (expires is None or isinstance(expires, date)):
                raise TypeError("a BorrowRequest's on and card_expires are dates")

        cdef PyObject *found
        cdef int32_t li = -1, hi = -1, ci = -1
        # where the pair's slot is follows from the ids' hashes: ask for its three lines now,
        # and look the libraries and the category up while they come
        cdef uint64_t place = _place(hash(lender), hash(home)) >> self.shift
        cdef char *ahead = <char *>&self.slots[place & (self.nslots - 1)]
        __builtin_prefetch(ahead)
        __builtin_prefetch(ahead + 64)
        __builtin_prefetch(ahead + 128)
        found = _dict_get(self._lib_ids, lender)
        if found != NULL:
            li = <int32_t>(<object>found)
        found = _dict_get(self._lib_ids, home)
        if found != NULL:
            hi = <int32_t>(<object>found)
        found = _dict_get(self._cat_ids, category)
        if found != NULL:
            ci = <int32_t>(<object>found)
        if li < 0 or hi < 0 or li == hi or ci < 0:
            return _deny(lender, home, category, _EMPTY, (self._refusal(lender, home, category, li, hi),))

        cdef int32_t day = _ordinal(on)
        cdef Slot *slot = self._find(li, hi, place)
        cdef Rule *base
        cdef Rule *rule
        cdef Py_ssize_t i, n
        cdef Found considered
        cdef Found admitted
        _found_init(&considered)
        _found_init(&admitted)
        try:
            if slot != NULL:
                base = self._block(slot)
                # most decisions name some of these agreements: ask for their ids now
                for i in range(min(8, slot.n[0] + slot.n[1] + slot.n[2])):
                    __builtin_prefetch(base[i].id)
                n = slot.n[SUSPENSION]
                for i in range(n):
                    rule = base + i
                    if rule.start <= day <= rule.end and self._covers(rule, ci):
                        _push(&considered, rule)
                if considered.n:
                    return self._suspended(lender, home, category, &considered)
                base += n
                for i in range(slot.n[BILATERAL]):
                    rule = base + i
                    if rule.start <= day <= rule.end and self._covers(rule, ci):
                        _push(&considered, rule)
            if not considered.n:
                if slot != NULL:
                    base = self._block(slot) + slot.n[SUSPENSION] + slot.n[BILATERAL]
                    for i in range(slot.n[CONSORTIUM]):
                        rule = base + i
                        if rule.start <= day <= rule.end and self._covers(rule, ci):
                            _push(&considered, rule)
                for i in range(self.large_off[li], self.large_off[li + 1]):
                    rule = self.large + i
                    if (
                        self._member(i, hi)
                        and rule.start <= day <= rule.end
                        and self._covers(rule, ci)
                    ):
                        _push(&considered, rule)
                if not considered.n:
                    return self._nothing_applies(lender, home, category, on, day, ci, li, hi, slot)

            # standing and material: the facts each rule needs, worked out once
            return self._judge(
                &considered, &admitted, lender, home, category, day, material, fines, flags,
                expires,
            )
        finally:
            _found_free(&considered)
            _found_free(&admitted)

    cdef inline bint _member(self, Py_ssize_t large, int32_t home) noexcept:
        return (self.large_members[large * self.lib_words + home // 64] >> (home % 64)) & 1

    cdef object _judge(
        self, Found *considered, Found *admitted, object lender, object home, object category,
        int32_t day, object material, object fines, object flags, object expires,
    ):
        cdef Rule *rule
        cdef Rule *best
        cdef Profile *profile
        cdef Py_ssize_t i
        cdef int32_t expires_day = -1 if expires is None else _ordinal(expires)
        cdef bint expired = expires is not None and expires_day < day
        cdef Py_ssize_t fines_rank = -2   # how many limits are below the fines; -2: not yet known
        cdef uint16_t flag_bits = 0
        cdef int flags_known = 0
        cdef bint ok
        cdef tuple ids
        for i in range(considered.n):
            rule = considered.rules[i]
            profile = &self.profiles[rule.profile]
            ok = not (profile.must_valid and expired)
            if ok and profile.fines >= 0:
                if fines_rank == -2:
                    fines_rank = self._fines_rank(fines)
                ok = profile.fines >= fines_rank
            if ok and profile.blocking:
                if not flags_known:
                    flag_bits = _flag_bits(flags)
                    flags_known = 1
                ok = not (flag_bits & profile.blocking)
            if ok and profile.excl >= 0 and material is not None:
                ok = material not in <frozenset>self._excluded[profile.excl]
            if ok:
                _push(admitted, rule)

        if not admitted.n:
            if fines_rank == -2:
                fines_rank = self._fines_rank(fines)
            if not flags_known:
                flag_bits = _flag_bits(flags)
            reasons = []
            for i in range(considered.n):
                self._failures(
                    considered.rules[i], reasons, expired, expires, fines, fines_rank, flag_bits,
                    material,
                )
            return _deny(lender, home, category, _ids(considered), tuple(reasons))

        if admitted.n > 1:
            qsort(admitted.rules, admitted.n, sizeof(Rule *), _by_rank)
        best = admitted.rules[0]
        # valid until the earlier of the card's expiry and the agreement's end; a card already
        # expired (admitted by an agreement that does not require a valid card) sets no bound
        valid_until = expires
        if expires is None or expired or best.end < expires_day:
            valid_until = None if best.end == OPEN_END else _date(best.end)
        if admitted.n == 1:
            ids = (<object>best.id,)
        else:
            ids = _ids(admitted)
        return Decision_new(
            True, lender, home, category, <object>self.profiles[best.profile].terms, ids, _EMPTY,
            valid_until,
        )

    cdef Py_ssize_t _fines_rank(self, object fines) except -1:
        """How many distinct limits are below ``fines``: a rule with limit number j passes
        exactly when j >= this (limits sorted by value)."""
        cdef Py_ssize_t lo = 0, hi = len(self._limits), mid
        if hi == 0 or not fines:
            return 0
        while lo < hi:
            mid = (lo + hi) // 2
            if self._limits[mid] < fines:
                lo = mid + 1
            else:
                hi = mid
        return lo

    cdef int _failures(
        self, Rule *rule, list out, bint expired, object expires, object fines,
        Py_ssize_t fines_rank, uint16_t flag_bits, object material,
    ) except -1:
        """Why this rule does not admit the patron, in the order of the checks."""
        cdef object agreement = <object>rule.id
        cdef Profile *profile = &self.profiles[rule.profile]
        cdef uint16_t blocked
        cdef Py_ssize_t bit
        if profile.must_valid and expired:
            out.append(Reason_new(C_CARD_EXPIRED, agreement, (expires,)))
        if profile.fines >= 0 and profile.fines < fines_rank:
            out.append(
                Reason_new(C_FINES_OVER_LIMIT, agreement, (fines, self._limits[profile.fines]))
            )
        blocked = flag_bits & profile.blocking
        if blocked:
            for bit in range(16):
                if (blocked >> bit) & 1:
                    out.append(Reason_new(C_BLOCKING_FLAG, agreement, (_SORTED_FLAGS[bit],)))
        if (
            profile.excl >= 0
            and material is not None
            and material in <frozenset>self._excluded[profile.excl]
        ):
            out.append(Reason_new(C_MATERIAL_EXCLUDED, agreement, (material,)))
        return 0

    cdef object _suspended(self, object lender, object home, object category, Found *in_force):
        cdef Rule *rule
        cdef Py_ssize_t i
        reasons = []
        for i in range(in_force.n):
            rule = in_force.rules[i]
            reasons.append(
                Reason_new(
                    C_SUSPENDED,
                    <object>rule.id,
                    (lender, home, <object>self.profiles[rule.profile].terms),
                )
            )
        return _deny(lender, home, category, _ids(in_force), tuple(reasons))

    cdef object _refusal(self, object lender, object home, object category, int32_t li, int32_t hi):
        if li < 0:
            return Reason_new(C_UNKNOWN_LIBRARY, None, (lender,))
        if hi < 0:
            return Reason_new(C_UNKNOWN_LIBRARY, None, (home,))
        if li == hi:
            return Reason_new(C_OWN_LIBRARY, None, (lender,))
        return Reason_new(C_UNKNOWN_CATEGORY, None, (category, self._hub_categories))

    cdef object _nothing_applies(
        self, object lender, object home, object category, object on, int32_t day, int32_t ci,
        int32_t li, int32_t hi, Slot *slot,
    ):
        """Default deny: say so, then why each agreement between the two libraries did not apply."""
        cdef Rule *base = NULL
        cdef Py_ssize_t i, n = 0
        if slot != NULL:
            base = self._block(slot) + slot.n[SUSPENSION]
            n = slot.n[BILATERAL] + slot.n[CONSORTIUM]
            for i in range(n):
                __builtin_prefetch(base[i].id)
        reasons = [Reason_new(C_NO_AGREEMENT, None, (lender, home, category, on))]
        for i in range(n):
            reasons.append(self._why_not(base + i, category, day, ci))
        for i in range(self.large_off[li], self.large_off[li + 1]):
            if self._member(i, hi):
                reasons.append(self._why_not(self.large + i, category, day, ci))
        return _deny(lender, home, category, _EMPTY, tuple(reasons))

    cdef object _why_not(self, Rule *rule, object category, int32_t day, int32_t ci):
        """For an agreement covering the two libraries that does not apply to this request."""
        if not self._covers(rule, ci):
            return Reason_new(
                C_CATEGORY_NOT_COVERED,
                <object>rule.id,
                (category, self._cat_sets[self.profiles[rule.profile].cats]),
            )
        if day < rule.start:
            return Reason_new(C_NOT_YET_IN_FORCE, <object>rule.id, (_date(rule.start),))
        return Reason_new(C_ENDED, <object>rule.id, (_date(rule.end),))


cdef inline PyObject *_dict_get(dict d, object key) except? NULL:
    """d.get(key) as a borrowed reference; NULL if absent (an unhashable key raises)."""
    return PyDict_GetItemWithError(d, key)  # NULL with an exception set: propagated


cdef inline uint16_t _flag_bits(object flags) except? 0xFFFF:
    cdef uint16_t bits = 0
    cdef PyObject *bit
    if not flags:
        return 0
    for flag in flags:
        bit = PyDict_GetItemWithError(_FLAG_BITS, flag)
        if bit != NULL:
            bits |= <uint16_t>(<object>bit)
        elif PyErr_Occurred():
            return 0xFFFF  # with the exception set: propagated
    return bits


cdef tuple _ids(Found *found):
    cdef tuple out = PyTuple_New(found.n)
    cdef Py_ssize_t i
    cdef PyObject *item
    for i in range(found.n):
        item = found.rules[i].id
        Py_INCREF(<object>item)
        PyTuple_SET_ITEM(out, i, <object>item)
    return out


cdef inline _deny(object lender, object home, object category, tuple agreements, tuple reasons):
    return Decision_new(False, lender, home, category, None, agreements, reasons, None)
