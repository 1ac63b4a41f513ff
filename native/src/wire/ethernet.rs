//! Ethernet II header and the 802.1Q / 802.1ad VLAN tags that may follow it.

/// Returned by `new_checked` when the buffer cannot hold the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncated;

pub const HEADER_LEN: usize = 14;
pub const VLAN_TAG_LEN: usize = 4;

pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const RARP: u16 = 0x8035;
    pub const VLAN: u16 = 0x8100;
    pub const QINQ: u16 = 0x88a8;
    pub const IPV6: u16 = 0x86dd;
    pub const TEB: u16 = 0x6558;
    /// Smallest value that is an EtherType rather than an 802.3 length.
    pub const MIN: u16 = 0x0600;
    /// OVS's stand-in EtherType for 802.3 frames without one (FLOW_DL_TYPE_NONE).
    pub const NONE: u16 = 0x05ff;
}

/// True for the TPIDs that introduce a VLAN tag.
pub fn is_vlan_tpid(t: u16) -> bool {
    t == ethertype::VLAN || t == ethertype::QINQ
}

/// The 802.1Q TCI bit OVS uses to say "a tag is present" (the old CFI/DEI bit).
pub const TCI_PRESENT: u16 = 0x1000;

/// Zero-copy view of an Ethernet header.
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    pub fn new_checked(buffer: T) -> Result<Self, Truncated> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(Truncated);
        }
        Ok(Frame { buffer })
    }
    pub fn dst(&self) -> [u8; 6] {
        self.buffer.as_ref()[0..6].try_into().unwrap()
    }
    pub fn src(&self) -> [u8; 6] {
        self.buffer.as_ref()[6..12].try_into().unwrap()
    }
    /// The EtherType/TPID right after the addresses.
    pub fn ethertype(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[12], b[13]])
    }
}

/// Zero-copy view of one VLAN tag's TCI and the EtherType after it
/// (the 4 bytes that follow a VLAN TPID).
pub struct VlanTag<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VlanTag<T> {
    pub fn new_checked(buffer: T) -> Result<Self, Truncated> {
        if buffer.as_ref().len() < VLAN_TAG_LEN {
            return Err(Truncated);
        }
        Ok(VlanTag { buffer })
    }
    pub fn tci(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[0], b[1]])
    }
    pub fn ethertype(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[2], b[3]])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_addresses_and_type() {
        let f = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x08, 0x00];
        let e = Frame::new_checked(&f[..]).unwrap();
        assert_eq!(e.dst(), [1, 2, 3, 4, 5, 6]);
        assert_eq!(e.src(), [7, 8, 9, 10, 11, 12]);
        assert_eq!(e.ethertype(), ethertype::IPV4);
    }

    #[test]
    fn refuses_short_buffers() {
        assert!(Frame::new_checked(&[0u8; 13][..]).is_err());
        assert!(VlanTag::new_checked(&[0u8; 3][..]).is_err());
        assert_eq!(VlanTag::new_checked(&[0x20, 0x0a, 0x86, 0xdd][..]).unwrap().tci(), 0x200a);
    }
}
