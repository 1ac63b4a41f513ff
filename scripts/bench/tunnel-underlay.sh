#!/bin/sh
# The tunnel underlay measurement (README, "Tunnels"): VXLAN datagrams with
# 64-byte inner frames from namespace S to namespace R over a veth, sent
# through a raw IP socket (the host's stack: what tunnel vports do) and as
# whole frames through AF_PACKET, counted by a UDP socket bound in R; then
# the raw socket again with GRO on R's veth and the UDP socket asking for
# UDP GRO (coalesced reads, as tunnel vports do).
# Needs root and `cargo build --release --bin tvs-tunnel-bench` in native/.
set -e
B=$(dirname "$0")/../../native/target/release/tvs-tunnel-bench
S=tvs-bench-tnl-s R=tvs-bench-tnl-r
ip netns add $S; ip netns add $R
TMP=$(mktemp -d)
trap 'ip netns del $S; ip netns del $R; rm -rf $TMP' EXIT
ip link add tvbtnls netns $S type veth peer name tvbtnlr netns $R
ip -n $S addr add 10.214.0.1/24 dev tvbtnls; ip -n $S link set tvbtnls up
ip -n $R addr add 10.214.0.2/24 dev tvbtnlr; ip -n $R link set tvbtnlr up
ip netns exec $S ping -c1 -W2 10.214.0.2 >/dev/null
RMAC=$(ip -n $R -br link show tvbtnlr | awk '{print $3}')
SMAC=$(ip -n $S -br link show tvbtnls | awk '{print $3}')
for mode in socket packet socket-gro; do
  GRO=; [ $mode = socket-gro ] && GRO=gro && ip netns exec $R ethtool -K tvbtnlr gro on
  ip netns exec $R $B recv 4789 5 $GRO > $TMP/recv.$mode &
  sleep 0.5
  echo "$mode:"
  if [ $mode = packet ]; then ip netns exec $S $B packet tvbtnls $RMAC $SMAC 10.214.0.1 10.214.0.2 4789 3
  else ip netns exec $S $B socket 10.214.0.2 4789 3; fi
  wait
  echo "  received: $(cat $TMP/recv.$mode)"
done
