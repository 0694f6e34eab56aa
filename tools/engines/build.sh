#!/usr/bin/env bash
# Builds the real engines the tests run, from their Go modules, into .engines/bin (`make engines`):
#   pulumi          github.com/pulumi/pulumi/pkg/v3/cmd/pulumi   (tools/engines/pulumi/go.mod)
#   kube-apiserver  k8s.io/kubernetes/cmd/kube-apiserver         (tools/engines/kubernetes/go.mod)
#   kube-controller-manager  k8s.io/kubernetes/cmd/kube-controller-manager  (the same module; the
#                   admission tests need its controllers: docs/engines.md, Admission tests)
#   etcd            go.etcd.io/etcd/server/v3                    (tools/engines/etcd/go.mod)
# Each engine has a module of its own so that Go's minimal version selection picks exactly the
# dependency versions its upstream release was built with (one module would raise the shared
# dependencies of each to the other's). The versions live only in those go.mod files.
#
# Idempotent: .engines/stamp records a hash of everything that decides the binaries (this script,
# the go.mod/go.sum files, the Go version); when it matches and every binary is there, nothing runs.
# Go's own caches (GOCACHE, GOMODCACHE) stay where Go keeps them, so a later build on the same
# machine only relinks. docs/engines.md has the measured cold and warm times.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
engines="$root/tools/engines"
out="${ENGINES_DIR:-$root/.engines}"
bin="$out/bin"

# The flags every build shares: no cgo (static binaries, like the upstream releases of all three),
# paths trimmed, no VCS stamp of this repository, go.mod/go.sum used as committed and never
# rewritten, and this machine's Go (never a downloaded toolchain).
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=readonly
common=(-trimpath -buildvcs=false)

stamp_input() {
	cat "$engines/build.sh"
	for module in pulumi kubernetes etcd; do
		cat "$engines/$module/go.mod" "$engines/$module/go.sum"
	done
	go version
}

stamp="$(stamp_input | sha256sum | cut -d' ' -f1)"
if [[ -f "$out/stamp" && "$(cat "$out/stamp")" == "$stamp" ]] &&
	[[ -x "$bin/pulumi" && -x "$bin/kube-apiserver" && -x "$bin/kube-controller-manager" && -x "$bin/etcd" ]]; then
	echo "engines: up to date in $bin (stamp $stamp)"
	exit 0
fi

# module_version DIR MODULE: the version DIR's go.mod selects for MODULE.
module_version() {
	(cd "$1" && go list -m -f '{{.Version}}' "$2")
}

pulumi_version="$(module_version "$engines/pulumi" github.com/pulumi/pulumi/pkg/v3)"
kube_version="$(module_version "$engines/kubernetes" k8s.io/kubernetes)"
etcd_version="$(module_version "$engines/etcd" go.etcd.io/etcd/server/v3)"

mkdir -p "$bin"
staging="$(mktemp -d "$out/build.XXXXXX")"
trap 'rm -rf "$staging"' EXIT

timed() {
	local name="$1"
	shift
	local start=$SECONDS
	echo "engines: building $name"
	"$@"
	echo "engines: built $name in $((SECONDS - start))s"
}

# Pulumi's release build (.goreleaser.yml of pulumi/pulumi): -trimpath, `-w -s`, the version in
# sdk/v3/go/common/version.Version (what `pulumi version` prints), and the osusergo tag.
build_pulumi() {
	(cd "$engines/pulumi" && go build "${common[@]}" -tags osusergo \
		-ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$pulumi_version" \
		-o "$staging/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
}

# Kubernetes' release build (hack/lib/golang.sh and hack/lib/version.sh of k8s.io/kubernetes):
# tags selinux,notest,grpcnotrace, `-s -w`, and the version variables of component-base and
# client-go. gitCommit is left unset: the module proxy does not tell a module version's commit.
# buildDate is the release time the proxy records, so that the binary does not depend on the day.
# build_kubernetes COMMAND builds k8s.io/kubernetes/cmd/COMMAND.
build_kubernetes() {
	local command="$1"
	local minor="${kube_version#v1.}"
	minor="${minor%%.*}"
	local release_time
	release_time="$(cd "$engines/kubernetes" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)"
	local ldflags="-s -w"
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
		ldflags+=" -X $pkg.buildDate=$release_time"
	done
	(cd "$engines/kubernetes" && go build "${common[@]}" -tags selinux,notest,grpcnotrace \
		-ldflags "$ldflags" -o "$staging/$command" "k8s.io/kubernetes/cmd/$command")
}

# etcd's release build (scripts/build_lib.sh of etcd-io/etcd) runs `go build` in ./server, the
# module go.etcd.io/etcd/server/v3 whose root package is etcd's main, with CGO_ENABLED=0.
build_etcd() {
	(cd "$engines/etcd" && go build "${common[@]}" -ldflags "-s -w" \
		-o "$staging/etcd" go.etcd.io/etcd/server/v3)
}

timed "pulumi $pulumi_version" build_pulumi
timed "kube-apiserver $kube_version" build_kubernetes kube-apiserver
timed "kube-controller-manager $kube_version" build_kubernetes kube-controller-manager
timed "etcd $etcd_version" build_etcd

mv -f "$staging/pulumi" "$staging/kube-apiserver" "$staging/kube-controller-manager" "$staging/etcd" "$bin/"
echo "$stamp" >"$out/stamp"
echo "engines: pulumi $pulumi_version, kube-apiserver and kube-controller-manager $kube_version, etcd $etcd_version in $bin"
