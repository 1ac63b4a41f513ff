#!/usr/bin/env python3
"""Raw frame tool for the integration tests: sends and captures Ethernet
frames on an interface with AF_PACKET, and plays a VM holding a tap.

  pkt.py send IFACE COUNT HEX...       send the frames in order, the whole
                                       sequence COUNT times
  pkt.py flows IFACE HEX N             send N copies of a UDP/IPv4 frame, each
                                       with other UDP ports (a new flow each)
  pkt.py macs IFACE HEX N SEED      send N copies of a frame, each from another
                                       random (seeded) unicast source MAC
  pkt.py capture IFACE [TYPE]          print 'ready', then received frames (hex,
                                       one per line), VLAN tag restored; only
                                       EtherType TYPE (e.g. 88b5) if given.
                                       Runs until stdin closes: the caller
                                       decides when it has seen enough.
  pkt.py tapvm NAME                    attach to tap NAME as QEMU would; print
                                       'ready', then 'rx HEX' per frame, and
                                       write each 'HEX' line read from stdin
"""
import fcntl, os, select, socket, struct, sys

SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000


def send(iface, count, *hexframes):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    frames = [bytes.fromhex(h) for h in hexframes]
    for _ in range(int(count)):
        for frame in frames:
            s.send(frame)


def send_when_writable(s, frame):
    """Send one frame; when the device queue is full, wait until the socket
    is writable again (the kernel says when) rather than for a fixed time."""
    while True:
        try:
            s.send(frame)
            return
        except BlockingIOError:
            select.select([], [s], [])


def flows(iface, hexframe, n):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    frame = bytearray.fromhex(hexframe)
    for i in range(int(n)):
        # UDP ports at bytes 34-37; the UDP checksum is left as zero (none).
        frame[34:38] = struct.pack("!HH", 1024 + (i >> 16), i & 0xFFFF)
        frame[40:42] = b"\x00\x00"
        send_when_writable(s, frame)


def macs(iface, hexframe, n, seed):
    import random
    rng = random.Random(int(seed))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    frame = bytearray.fromhex(hexframe)
    for _ in range(int(n)):
        # Locally administered unicast: the first octet's low two bits are 1 0.
        frame[6:12] = bytes([(rng.getrandbits(8) & 0xFC) | 0x02]) + rng.getrandbits(40).to_bytes(5, "big")
        send_when_writable(s, frame)


def stdin_lines():
    """Complete lines that arrived on stdin, or None at end of input. Reads
    the descriptor itself: a buffered readline() could take two lines from
    the pipe and leave the second where select() no longer sees it."""
    data = os.read(sys.stdin.fileno(), 65536)
    if not data:
        return None
    stdin_lines.pending += data
    *lines, stdin_lines.pending = stdin_lines.pending.split(b"\n")
    return [l.decode() for l in lines]


stdin_lines.pending = b""


def capture(iface, ethertype=None):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    s.bind((iface, 0))
    print("ready", flush=True)
    stdin = sys.stdin.fileno()
    while True:
        ready = select.select([s, stdin], [], [])[0]
        if stdin in ready and stdin_lines() is None:
            return
        if s not in ready:
            continue
        data, anc, _, addr = s.recvmsg(65536, socket.CMSG_SPACE(20))
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        for level, typ, cdata in anc:
            if level == SOL_PACKET and typ == PACKET_AUXDATA:
                status, _, _, _, _, tci, tpid = struct.unpack("IIIHHHH", cdata[:20])
                if status & TP_STATUS_VLAN_VALID:
                    if not status & TP_STATUS_VLAN_TPID_VALID or tpid == 0:
                        tpid = 0x8100
                    data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
        off = 12
        while data[off:off + 2] in (b"\x81\x00", b"\x88\xa8"):
            off += 4
        if ethertype is None or data[off:off + 2].hex() == ethertype.lower():
            print(data.hex(), flush=True)


def tapvm(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    print("ready", flush=True)
    stdin = sys.stdin.fileno()
    while True:
        ready = select.select([fd, stdin], [], [])[0]
        if fd in ready:
            print("rx " + os.read(fd, 65536).hex(), flush=True)
        if stdin in ready:
            lines = stdin_lines()
            if lines is None:
                return
            for line in lines:
                os.write(fd, bytes.fromhex(line.strip()))


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    {"send": send, "flows": flows, "macs": macs, "capture": capture, "tapvm": tapvm}[cmd](*args)
