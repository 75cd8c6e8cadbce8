//! Delivery modes, as types: what a mailbox promises for the message its consumer has in
//! hand when an attempt ends.

/// The message in hand is the attempt's own: gone if the attempt fails while handling it
/// (as in Erlang/OTP and Akka). The consumer takes `&mut Inbox<T>`. The default.
#[derive(Debug)]
pub enum AtMostOnce {}

/// The message in hand comes back until it is acknowledged: an attempt that ends without
/// [`ack`](super::Delivery::ack) puts it back at the front, for the next attempt. The consumer
/// takes `&mut AckInbox<T>`. Made with [`MailboxBuilder::at_least_once`](super::MailboxBuilder::at_least_once).
#[derive(Debug)]
pub enum AtLeastOnce {}

/// [`AtMostOnce`] or [`AtLeastOnce`].
pub trait DeliveryMode: sealed::Sealed + Send + Sync + 'static {
    /// How the mode is spelled in `supervisor!` and in reports.
    const NAME: &'static str;
}

impl DeliveryMode for AtMostOnce {
    const NAME: &'static str = "at_most_once";
}

impl DeliveryMode for AtLeastOnce {
    const NAME: &'static str = "at_least_once";
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::AtMostOnce {}
    impl Sealed for super::AtLeastOnce {}
}
