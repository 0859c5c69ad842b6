# Ring of packet slots between the sampler (producer) and the link (consumer).
#
# Every slot is a bytearray allocated once (resize() makes new ones, for a stream that needs
# more, while the sampler is stopped). The sampler fills the slot at `head` in place and
# commits it; the link sends the oldest committed slot and pops it only once the radio took it,
# so a refused notification (ENOMEM) keeps its data. When the link falls behind, committing into
# a full ring overwrites the oldest packet: its samples are counted in `dropped_samples` and the
# next packet carries the DROPPED flag. Nothing here allocates after __init__, configure() and
# resize().


class PacketRing:
    def __init__(self, n_slots, slot_size):
        if n_slots < 2:
            raise ValueError("ring needs at least 2 slots")
        self._make(n_slots, slot_size)
        self.out_view = None
        self.clear()

    def _make(self, n_slots, slot_size):
        self._slots = [bytearray(slot_size) for _ in range(n_slots)]
        self._full = [memoryview(s) for s in self._slots]
        self._len = [0] * n_slots
        self._samples = [0] * n_slots
        self.slots = n_slots
        self.slot_size = slot_size

    def resize(self, n_slots, slot_size):
        # New slots, allocated now (the sampler is stopped: nothing is being filled). The unsent
        # packets move over, oldest first; those that no longer fit (too many, or longer than a
        # slot) are counted as dropped, the oldest first, and the next packet says DROPPED.
        old_slots, old_len, old_samples = self._slots, self._len, self._samples
        tail, count, old_n = self._tail, self._count, self.slots
        self._make(n_slots, slot_size)
        self._head = self._tail = self._count = 0
        excess = count - (n_slots - 1)
        for _ in range(count):
            length = old_len[tail]
            if excess > 0 or length > slot_size:
                excess -= 1
                self.dropped_samples = (self.dropped_samples + old_samples[tail]) & 0x3FFFFFFF
                self.dropped_pending = True
            else:
                self._slots[self._head][:length] = memoryview(old_slots[tail])[:length]
                self.commit(length, old_samples[tail])
            tail += 1
            if tail == old_n:
                tail = 0
        self.configure(self._packet_len)

    def configure(self, packet_len):
        # Pre-slice every slot at the usual packet length so sending a full batch allocates
        # nothing; shorter packets (after an overrun or at stop) are sliced when sent.
        self._full = [memoryview(s)[:packet_len] for s in self._slots]
        self._packet_len = packet_len

    def clear(self):
        self._head = 0
        self._tail = 0
        self._count = 0
        self._packet_len = 0
        self.dropped_samples = 0
        self.dropped_pending = False

    def writable(self):
        return self._slots[self._head]

    def commit(self, length, n_samples):
        head = self._head
        self._len[head] = length
        self._samples[head] = n_samples
        head += 1
        if head == self.slots:
            head = 0
        self._head = head
        if self._count == self.slots - 1:
            # The slot we are about to fill is the oldest unsent packet: drop it.
            tail = self._tail
            self.dropped_samples = (self.dropped_samples + self._samples[tail]) & 0x3FFFFFFF
            self.dropped_pending = True
            tail += 1
            self._tail = 0 if tail == self.slots else tail
        else:
            self._count += 1

    def exchange(self, buf, view, length, n_samples):
        # Commits `buf`, a finished packet from outside the ring (the sampler's timer pool)
        # with `view`, its memoryview sliced at the packet length, in place of the free slot's
        # buffer. Returns that buffer, its view in `out_view`: no copy, no allocation.
        head = self._head
        old = self._slots[head]
        self.out_view = self._full[head]
        self._slots[head] = buf
        self._full[head] = view
        self.commit(length, n_samples)
        return old

    def pending(self):
        return self._count

    def discard(self):
        # Forgets every unsent packet, its samples counted as dropped (STATUS samples_dropped)
        # and the next packet flagged DROPPED: the link they were waiting for is gone.
        while self._count:
            tail = self._tail
            self.dropped_samples = (self.dropped_samples + self._samples[tail]) & 0x3FFFFFFF
            self.dropped_pending = True
            tail += 1
            self._tail = 0 if tail == self.slots else tail
            self._count -= 1

    def peek(self):
        # The oldest committed packet as a memoryview, or None.
        if self._count == 0:
            return None
        tail = self._tail
        length = self._len[tail]
        if length == self._packet_len:
            return self._full[tail]
        return memoryview(self._slots[tail])[:length]

    def pop(self):
        if self._count:
            tail = self._tail + 1
            self._tail = 0 if tail == self.slots else tail
            self._count -= 1
