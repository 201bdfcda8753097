"""kubectl-lbip: MetalLB LoadBalancer addresses, checked before MetalLB refuses them."""

__version__ = "0.1.0"
