"""The live machinery: broker (in-process or Redis), counters, ticker, hub, protocol."""
