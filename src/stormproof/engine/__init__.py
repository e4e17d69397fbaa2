"""What every feature shares: the runtime protocol, the consumer loop, leases, slots,
waiting, periodic loops, the sync bridge and the outgoing HTTP client."""
