# Part of policies/_index.pyx (included there): Tables, the index's tables; how _build fills
# them from the rows of policies.agreements; the lookups in them that decide uses.

cdef inline uint64_t _place(Py_hash_t lender, Py_hash_t home) noexcept nogil:
    """Where a pair's slot is: from the hashes of the two library ids (cached in the strings),
    so that a decision can ask for the slot before it has looked the libraries up."""
    cdef uint64_t h = <uint64_t>lender * <uint64_t>0x9E3779B97F4A7C15
    h ^= (<uint64_t>home + <uint64_t>0x632BE59BD9B4E019) * <uint64_t>0xC2B2AE3D27D4EB4F
    return h ^ (h >> 29)


cdef class Tables:
    """The tables of an index, built once by ``_build``; ``Index`` decides over them."""

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
        ``(kind, cats, excl, fines, blocking, needs, terms or reason)``, kind 0 suspension,
        1 bilateral, 2 consortium, ``needs`` the bits NEEDS_VALID_CARD and
        NEEDS_KNOWN_STANDING, numbers indexing the lists above (-1: none). A row is
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
            profile.needs = row[5]
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

    cdef inline bint _member(self, Py_ssize_t large, int32_t home) noexcept:
        return (self.large_members[large * self.lib_words + home // 64] >> (home % 64)) & 1
