"""The pure MetalLB model: no kubernetes import, no I/O."""
