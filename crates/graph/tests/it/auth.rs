//! Auth flows against the simulator's token endpoint (being written).
