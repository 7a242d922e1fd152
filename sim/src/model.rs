//! One Verilated card behind its generated C ABI.
//!
//! All inputs and outputs travel as packed 32-bit words, one call per clock
//! cycle: set inputs, evaluate with the clock low, sample outputs, raise the
//! clock. The outputs returned are those seen before the rising edge, so a
//! valid/ready transfer "happens" in the cycle where both were high in them.

use crate::ports::{CardPorts, CARD_PORTS};
use crate::{Result, SimError};
use std::ffi::CString;

/// Where a port sits in the packed word vector.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    pub word: usize,
    pub width: usize,
}

/// Data-path widths of the card models built into the co-simulation.
pub const BUILT_WIDTHS: [usize; 4] = [64, 128, 256, 512];

/// The port table of the card build of `width_bits`, if it is built.
pub fn card_ports(width_bits: usize) -> Result<&'static CardPorts> {
    CARD_PORTS
        .iter()
        .find(|p| p.width_bits == width_bits)
        .ok_or(SimError::NoCardModel(width_bits))
}

const _: () = {
    let mut i = 0;
    while i < BUILT_WIDTHS.len() {
        assert!(CARD_PORTS[i].width_bits == BUILT_WIDTHS[i]);
        i += 1;
    }
};

/// Packed port values of one card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pins {
    pub words: Vec<u32>,
}

impl Pins {
    pub(crate) fn new(n: usize) -> Self {
        Self { words: vec![0; n] }
    }
    pub fn get(&self, s: Slot) -> u64 {
        let lo = self.words[s.word] as u64;
        let v = if s.width > 32 {
            lo | (self.words[s.word + 1] as u64) << 32
        } else {
            lo
        };
        if s.width >= 64 {
            v
        } else {
            v & ((1u64 << s.width) - 1)
        }
    }
    pub fn bit(&self, s: Slot) -> bool {
        self.words[s.word] & 1 != 0
    }
    pub fn set(&mut self, s: Slot, v: u64) {
        self.words[s.word] = v as u32;
        if s.width > 32 {
            self.words[s.word + 1] = (v >> 32) as u32;
        }
    }
    pub fn set_bit(&mut self, s: Slot, v: bool) {
        self.words[s.word] = v as u32;
    }
    /// A wide port as little-endian bytes.
    pub fn bytes(&self, s: Slot) -> Vec<u8> {
        let n = s.width.div_ceil(32);
        self.words[s.word..s.word + n]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .take(s.width.div_ceil(8))
            .collect()
    }
    /// Sets a wide port from little-endian bytes (missing bytes are zero).
    pub fn set_bytes(&mut self, s: Slot, b: &[u8]) {
        let n = s.width.div_ceil(32);
        for i in 0..n {
            let mut w = [0u8; 4];
            for (j, x) in w.iter_mut().enumerate() {
                *x = b.get(4 * i + j).copied().unwrap_or(0);
            }
            self.words[s.word + i] = u32::from_le_bytes(w);
        }
    }
}

/// A Verilated card. Not `Send`: the thread that creates a model evaluates it.
pub struct CardModel {
    handle: *mut core::ffi::c_void,
    ports: &'static CardPorts,
    pub inputs: Pins,
    pub outputs: Pins,
    cycles: u64,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl CardModel {
    /// A freshly constructed card of data-path width `width_bits` (one of
    /// [`BUILT_WIDTHS`]).
    pub fn new(width_bits: usize) -> Result<Self> {
        let ports = card_ports(width_bits)?;
        // SAFETY: `new` allocates a fresh model and context and returns an
        // owned handle, released exactly once in Drop with the same build's
        // `free`.
        let handle = unsafe { (ports.new)() };
        Ok(Self {
            handle,
            ports,
            inputs: Pins::new(ports.in_words),
            outputs: Pins::new(ports.out_words),
            cycles: 0,
            _not_send: std::marker::PhantomData,
        })
    }

    /// This build's port layout.
    pub fn ports(&self) -> &'static CardPorts {
        self.ports
    }
    /// Data-path width in bits.
    pub fn width_bits(&self) -> usize {
        self.ports.width_bits
    }
    /// Bytes per data beat.
    pub fn beat_bytes(&self) -> usize {
        self.ports.width_bits / 8
    }

    /// One clock cycle with the current inputs; `outputs` is refreshed with
    /// the values seen before the rising edge.
    pub fn cycle(&mut self) {
        // SAFETY: the handle is live and of this build; the slices have
        // exactly in_words and out_words elements, the lengths this build's
        // shim reads and writes.
        unsafe {
            (self.ports.cycle)(
                self.handle,
                self.inputs.words.as_ptr(),
                self.outputs.words.as_mut_ptr(),
            )
        };
        self.cycles += 1;
    }

    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// Writes a VCD waveform of this card to `path` from now on.
    pub fn trace_to(&mut self, path: &std::path::Path) -> Result<()> {
        let trace_err = || SimError::Trace {
            path: path.display().to_string(),
        };
        let c = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| trace_err())?;
        // SAFETY: the handle is live and `c` is a NUL-terminated path that
        // outlives the call.
        let rc = unsafe { (self.ports.trace_open)(self.handle, c.as_ptr()) };
        if rc == 0 {
            Ok(())
        } else {
            Err(trace_err())
        }
    }
}

impl Drop for CardModel {
    fn drop(&mut self) {
        // SAFETY: the handle came from this build's `new` and is freed only
        // here.
        unsafe { (self.ports.free)(self.handle) }
    }
}
