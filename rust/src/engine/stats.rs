//! What a batch did on the wire, counted by the driver.

/// Counters of one batch. Every datagram received is exactly one of `matched`, `late`,
/// `duplicate`, `spoofed`, `unexpected` or `malformed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub targets: u64,
    pub targets_done: u64,
    pub packets_sent: u64,
    pub bytes_sent: u64,
    pub packets_received: u64,
    pub bytes_received: u64,
    /// Tries that were not answered in time (each is followed by a retry or a failure).
    pub timeouts: u64,
    pub retries: u64,
    /// Answers to an outstanding request from its target, with its community.
    pub matched: u64,
    /// Answers to a request that had already timed out for good.
    pub late: u64,
    /// Second answers to a request already answered.
    pub duplicate: u64,
    /// Answers with a request id never sent, or from the wrong address or port, or with the
    /// wrong community.
    pub spoofed: u64,
    /// Well-formed messages that are not a Response PDU.
    pub unexpected: u64,
    /// Datagrams that do not decode (truncated, garbage).
    pub malformed: u64,
    /// Requests the kernel refused to send.
    pub send_errors: u64,
    /// Turns of the I/O loop (each a receive, the timers and a send): what its wake-ups cost
    /// follows this, not the packets.
    pub turns: u64,
}
