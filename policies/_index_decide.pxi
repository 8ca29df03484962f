# Part of policies/_index.pyx (included there): Index, the tables with decide, the decision rules of
# docs/agreements.md in their order, and the list of rules (Found) a decision gathers.

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


cdef class Index(Tables):
    """Agreements compiled for ``decide``. Built once by ``Agreements.__init__`` (``_build``)."""

    def decide(self, request: BorrowRequest) -> Decision:
        """May ``request.lender`` lend to this patron? The decision rules (docs/agreements.md):

        1. nothing applies: not eligible (default deny), saying why each near miss did not apply;
        2. a suspension in force for (lender, home) and the category denies, whatever else applies;
        3. bilateral agreements in force covering the category decide; only if none does, consortia;
        4. eligible if any deciding agreement admits the patron (a known standing where it is
           required, standing, material); the terms are the most generous admitting
           agreement's (most items, then longest loan).
        """
        cdef object lender, home, category, on, material, fines, flags, expires
        cdef bint known
        if type(request) is _Request and _complete(request):
            lender = <object>hub_slot_get(request, Q_LENDER)
            home = <object>hub_slot_get(request, Q_HOME)
            category = <object>hub_slot_get(request, Q_CATEGORY)
            on = <object>hub_slot_get(request, Q_ON)
            material = <object>hub_slot_get(request, Q_MATERIAL)
            fines = <object>hub_slot_get(request, Q_FINES)
            flags = <object>hub_slot_get(request, Q_FLAGS)
            expires = <object>hub_slot_get(request, Q_EXPIRES)
            known = <object>hub_slot_get(request, Q_KNOWN) is True
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
            known = request.standing_known is True
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
                expires, known,
            )
        finally:
            _found_free(&considered)
            _found_free(&admitted)
    cdef object _judge(
        self, Found *considered, Found *admitted, object lender, object home, object category,
        int32_t day, object material, object fines, object flags, object expires, bint known,
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
            ok = known or not (profile.needs & NEEDS_KNOWN_STANDING)
            if ok and expired:
                ok = not (profile.needs & NEEDS_VALID_CARD)
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
                    material, known,
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
        Py_ssize_t fines_rank, uint16_t flag_bits, object material, bint known,
    ) except -1:
        """Why this rule does not admit the patron, in the order of the checks."""
        cdef object agreement = <object>rule.id
        cdef Profile *profile = &self.profiles[rule.profile]
        cdef uint16_t blocked
        cdef Py_ssize_t bit
        if not known and profile.needs & NEEDS_KNOWN_STANDING:
            out.append(Reason_new(C_STANDING_UNKNOWN, agreement, _EMPTY))
        if profile.needs & NEEDS_VALID_CARD and expired:
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


cdef tuple _ids(Found *found):
    cdef tuple out = PyTuple_New(found.n)
    cdef Py_ssize_t i
    cdef PyObject *item
    for i in range(found.n):
        item = found.rules[i].id
        Py_INCREF(<object>item)
        PyTuple_SET_ITEM(out, i, <object>item)
    return out
