//! Controller firmware of duplex: the write-back cache and the mirror protocol
//! as one pure state machine (DESIGN.md ideas 2–10).
//!
//! The firmware performs no I/O, reads no clock and keeps no global state: the
//! runtime feeds it [`Input`]s with the current [`Tick`] and carries out the
//! [`Action`]s it returns. Page contents are never touched here; actions name
//! page buffers by [`PageRef`] and the runtime maps them to memory. That is what
//! makes every crash point of the simulator (`sim` feature) replayable.
//!
//! ```text
//!  host write ──► pump_writes ─ LandHostData ─► landed ─► mirror_queue
//!                 (line lock,   (RMW: base page           │ per-line: 1 MIRROR/page
//!                  fresh page)   or disk fill)            │ batched: lists swap on
//!                                                         ▼ completion, runs of pages
//!   ack ◄── page_done ◄── commit ◄── MIRROR completion (card took the slot)
//!                          │ old slot ─► RELEASE (ordered queue)
//!                          ▼
//!                    write-back queue ─► destage: [FLUSH_NOTICE] → disk write → flush
//!                                        → INVALIDATE / hardening CLEAR → RELEASE
//! partner dead: fence disks + inbound window → scan hosted area → adopt → write-through
//! partner back: drain → re-mirror → stage marked tracks → COPY_BACK → hand back
//! ```
//!
//! | file | concern (DESIGN.md idea) |
//! |---|---|
//! | `config.rs` | parameters and protocol variants |
//! | `event.rs` | inputs, actions, partner messages |
//! | `cache.rs` | line table, LRU, page pool |
//! | `mirror.rs` | write path, MIRROR/META/RELEASE, batching (3, 4, 5) |
//! | `read.rs` | read path (6) |
//! | `destage.rs`, `destage_queue.rs` | write-back (6), hardening senders (7) |
//! | `hardening.rs` | hardening bitmaps and generations (7) |
//! | `partner_table.rs` | what the partner holds (4) |
//! | `ownership.rs` | LUN ownership, forwarding (8) |
//! | `failover.rs` | bring-up (2), degrade (9), failback (10) |
//! | `controller.rs` | the state machine and its dispatch |
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
