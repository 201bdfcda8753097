// Cilium's LB-IPAM alone (operator/pkg/lbipam's cell), against the API server of
// --k8s-kubeconfig-path: the e2e tier's judge for a Cilium release whose whole
// operator cannot be built from the Go module proxy (controlplane.sh builds this
// file against that release). It allocates exactly as the operator's LB-IPAM
// does; what it leaves out is the rest of the operator (leader election, CRD
// registration: the tier applies Cilium's CRDs itself).
package main

import (
	"log/slog"
	"os"

	"github.com/cilium/hive/cell"
	"github.com/spf13/pflag"

	"github.com/cilium/cilium/operator/pkg/lbipam"
	ciliumhive "github.com/cilium/cilium/pkg/hive"
	ciliumv2 "github.com/cilium/cilium/pkg/k8s/apis/cilium.io/v2"
	k8sclient "github.com/cilium/cilium/pkg/k8s/client"
	"github.com/cilium/cilium/pkg/k8s/resource"
	slimcorev1 "github.com/cilium/cilium/pkg/k8s/slim/k8s/api/core/v1"
	"github.com/cilium/cilium/pkg/k8s/utils"
	"github.com/cilium/cilium/pkg/metrics"
	"github.com/cilium/cilium/pkg/option"
)

func pools(lc cell.Lifecycle, cs k8sclient.Clientset) resource.Resource[*ciliumv2.CiliumLoadBalancerIPPool] {
	lw := utils.ListerWatcherFromTyped(cs.CiliumV2().CiliumLoadBalancerIPPools())
	return resource.New[*ciliumv2.CiliumLoadBalancerIPPool](lc, lw, nil)
}

func services(lc cell.Lifecycle, cs k8sclient.Clientset) resource.Resource[*slimcorev1.Service] {
	lw := utils.ListerWatcherFromTyped[*slimcorev1.ServiceList](cs.Slim().CoreV1().Services(""))
	return resource.New[*slimcorev1.Service](lc, lw, nil)
}

func main() {
	h := ciliumhive.New(
		k8sclient.Cell,
		metrics.Cell,
		cell.Provide(pools, services, func() *option.DaemonConfig { return option.Config }),
		lbipam.Cell,
	)
	flags := pflag.NewFlagSet("cilium-lbipam", pflag.ExitOnError)
	h.RegisterFlags(flags)
	ipv4 := flags.Bool("enable-ipv4", true, "hand out IPv4 addresses (the operator's --enable-ipv4)")
	ipv6 := flags.Bool("enable-ipv6", true, "hand out IPv6 addresses (the operator's --enable-ipv6)")
	if err := flags.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	option.Config.EnableIPv4 = *ipv4
	option.Config.EnableIPv6 = *ipv6
	if err := h.Run(slog.Default()); err != nil {
		os.Exit(1)
	}
}
