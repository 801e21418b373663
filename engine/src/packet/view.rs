//! [`View`]: what every header view shares (smoltcp's `Packet<T>`): a
//! buffer wrapped as it is, or after the header's own checks.
//!
//! Each header module names its view (`ipv4::Packet<T>` is
//! `View<ipv4::Ipv4, T>`), gives its fields as methods on it, and says in a
//! [`Checks`] impl what its `new_checked` checks (ICMP, whose check names
//! the version, has its own `new_checked(buffer, "ICMPv4")` instead). The
//! accessors read and write through `packet/field.rs`, so they never panic,
//! whatever the buffer: `new_checked` is what makes their values worth
//! trusting.

use super::Result;
use std::marker::PhantomData;

/// A read/write view of one kind of header (`H`) over a buffer (`T`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View<H, T> {
    buffer: T,
    header: PhantomData<H>,
}

/// The checks of one kind of header, as packetdrill makes them (its order and
/// wording): a buffer that passes holds the whole header.
pub trait Checks: Sized {
    fn check_len<T: AsRef<[u8]>>(packet: &View<Self, T>) -> Result<()>;
}

impl<H, T: AsRef<[u8]>> View<H, T> {
    /// Wrap `buffer` as it is: accessors read bytes past its end as zero and
    /// drop writes to them.
    pub const fn new_unchecked(buffer: T) -> View<H, T> {
        View {
            buffer,
            header: PhantomData,
        }
    }

    pub(super) fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

impl<H: Checks, T: AsRef<[u8]>> View<H, T> {
    /// Wrap `buffer` after [`View::check_len`].
    pub fn new_checked(buffer: T) -> Result<View<H, T>> {
        let p = View::new_unchecked(buffer);
        H::check_len(&p)?;
        Ok(p)
    }

    /// The header's checks (see its [`Checks`] impl).
    pub fn check_len(&self) -> Result<()> {
        H::check_len(self)
    }
}

impl<H, T: AsRef<[u8]> + AsMut<[u8]>> View<H, T> {
    pub(super) fn bm(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }
}
