//! The ports that start a TCP and a UDP header alike: source, then destination.

use super::field::Fields;
use super::view::View;

/// Headers that start with the two ports (TCP and UDP); their views get
/// [`View::src_port`] and the others.
pub trait Ports {}

mod field {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
}

impl<H: Ports, T: AsRef<[u8]>> View<H, T> {
    pub fn src_port(&self) -> u16 {
        self.b().u16_at(field::SRC_PORT)
    }

    pub fn dst_port(&self) -> u16 {
        self.b().u16_at(field::DST_PORT)
    }
}

impl<H: Ports, T: AsRef<[u8]> + AsMut<[u8]>> View<H, T> {
    pub fn set_src_port(&mut self, v: u16) {
        self.bm().set_u16_at(field::SRC_PORT, v);
    }

    pub fn set_dst_port(&mut self, v: u16) {
        self.bm().set_u16_at(field::DST_PORT, v);
    }
}
