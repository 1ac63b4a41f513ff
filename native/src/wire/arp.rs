//! ARP for IPv4 over Ethernet (RFC 826).

use super::ethernet::Truncated;

/// htype(2) ptype(2) hlen plen op(2) sha(6) spa(4) tha(6) tpa(4).
pub const PACKET_LEN: usize = 28;

/// Zero-copy view of an Ethernet/IPv4 ARP packet.
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks the length and that it is Ethernet/IPv4 ARP (hlen 6, plen 4).
    pub fn new_checked(buffer: T) -> Result<Self, Truncated> {
        let b = buffer.as_ref();
        if b.len() < PACKET_LEN || b[4] != 6 || b[5] != 4 {
            return Err(Truncated);
        }
        Ok(Packet { buffer })
    }
    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    pub fn op(&self) -> u16 {
        u16::from_be_bytes([self.b()[6], self.b()[7]])
    }
    pub fn sha(&self) -> [u8; 6] {
        self.b()[8..14].try_into().unwrap()
    }
    pub fn spa(&self) -> [u8; 4] {
        self.b()[14..18].try_into().unwrap()
    }
    pub fn tha(&self) -> [u8; 6] {
        self.b()[18..24].try_into().unwrap()
    }
    pub fn tpa(&self) -> [u8; 4] {
        self.b()[24..28].try_into().unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_request() {
        let mut p = [0u8; 28];
        p[..8].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
        p[14..18].copy_from_slice(&[10, 0, 0, 1]);
        p[24..28].copy_from_slice(&[10, 0, 0, 2]);
        let a = Packet::new_checked(&p[..]).unwrap();
        assert_eq!((a.op(), a.spa(), a.tpa()), (1, [10, 0, 0, 1], [10, 0, 0, 2]));
        assert!(Packet::new_checked(&p[..27]).is_err());
    }
}
