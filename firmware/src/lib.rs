//! Controller firmware of duplex: the write-back cache and the mirror protocol
//! as one pure state machine (DESIGN.md ideas 2–10).
//!
//! The firmware performs no I/O, reads no clock and keeps no global state: the
//! runtime feeds it [`Input`]s with the current [`Tick`] and carries out the
//! [`Action`]s it returns. Page contents are never touched here; actions name
//! page buffers by [`PageRef`] and the runtime maps them to memory. That is what
//! makes every crash point of the simulator (`sim` feature) replayable.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod cache;
pub mod config;
pub mod controller;
mod destage;
pub mod destage_queue;
pub mod error;
pub mod event;
mod failover;
pub mod hardening;
mod mirror;
mod ordered_queue;
mod ownership;
pub mod partner_table;
mod read;
#[cfg(feature = "sim")]
pub mod sim;

pub use cache::{LineKey, PageRef};
pub use config::{Config, HardeningMode, MetadataMode, Mutation, OwnershipPolicy};
pub use controller::{Controller, Phase, Stats};
pub use error::{Error, Result};
pub use event::{Action, Command, DiskStatus, Input, Message, ReqId, Tick};
