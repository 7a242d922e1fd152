// duplex_pcie_adapter: BAR0 completer between the Xilinx 7-series PCIe hard
// block (pcie_7x, 128-bit AXI4-Stream user interface, PG054) and the card's
// BAR0 register port (bar_req / bar_rsp, see hdl/src/card.rs), plus the
// card's interrupt line onto the block's cfg_interrupt handshake.
//
//   m_axis_rx ──► beat ──► lane scan ──► header fields ──► bar_req_* ──► card
//   (128 bit)     reg      (DW 0..3)        │ MRd 1 DW          │
//                                           ▼                   ▼ 1 cycle
//   s_axis_tx ◄── CplD beat (3 DW header + 1 DW) ◄── cpl regs ◄── bar_rsp_*
//   cfg_interrupt* ◄── INTx assert/deassert or MSI ◄── irq
//
// Scope: the completer path for BAR0 only. The requester (DMA) path arrives
// with the DMA engine; this module sends nothing but completions.
//
// Handled (bar_hit[0], rx_tuser[2], set on the TLP's first beat):
//   MWr32 / MWr64  posted; split into one bar_req write per payload DW
//                  (address + 4 per DW, one per cycle, RX stalls meanwhile).
//                  A DW whose byte enables are not all set is dropped: the
//                  card's port has no byte enables. Poisoned (EP) writes
//                  are dropped (PCIe 2.1 section 2.7.2.2).
//   MRd32 / MRd64  length 1 DW: one bar_req read, answered one cycle later;
//                  the CplD carries the requester ID, tag, TC, attributes,
//                  lower address and byte count of the request (PCIe 2.1
//                  section 2.2.9, 2.3.1.1) and cfg_completer_id. A zero-length
//                  read (first BE 0000) is completed with data 0 and no
//                  register access, so a flush read has no side effect.
// Discarded (consumed up to is_eof, nothing sent): any other type (I/O,
//   locked reads, messages, completions, TLPs with a prefix), reads longer
//   than 1 DW, and requests hitting any BAR other than BAR0. Configuration
//   requests never reach this interface (the block answers them). A full
//   design would report the non-posted ones as Unsupported Request through
//   cfg_err_ur / cfg_err_tlp_cpl_header (PG054 "Reporting Errors"), which
//   makes the block send the UR completion; here the requester sees a
//   completion timeout instead.
//
// 128-bit RX framing (PG054, "Receiving Inbound Packets", 128-bit): a TLP
// starts in DW0 or DW2 of a beat (is_sof = rx_tuser[14:10], bit 4 = present,
// bits 3:2 = start DW) and ends in any DW (is_eof = rx_tuser[21:17], bit 4 =
// present, bits 3:2 = end DW). One beat can carry the end of one TLP in DW0/1
// and the start of the next in DW2 (straddle). rx_tkeep and rx_tlast carry no
// framing on the 128-bit interface and are ignored. The incoming beat is
// registered, then its DWs are scanned in order; the scan stops at a DW whose
// action cannot be taken this cycle (a second register request in the same
// cycle, or a read while the previous completion is still outstanding) and
// resumes there, so rx_tready only depends on registers.
//
// Payload byte order: the block presents each payload DW with the byte at
// the lowest address in bits [31:24] (the Xilinx PIO example design,
// PIO_EP_MEM_ACCESS, "TLP Payload format"), so write data and read data are
// byte-swapped to the card's little-endian register value.
//
// TX: the only TLP sent is a CplD, 3 DW header + 1 DW = one full beat
// (tx_tkeep 16'hFFFF, tx_tlast 1, tx_tuser 0); a completion without data (3
// DW) would use tx_tkeep 16'h0FFF. One completion is outstanding at a time;
// tx_tvalid and tx_tdata stay stable until tx_tready (back-pressure).
//
// Interrupt (PG054 "Generating Interrupt Requests"): irq is the card's level
// line. With MSI disabled (cfg_interrupt_msienable 0) its level is mirrored
// as Assert_INTA / Deassert_INTA (cfg_interrupt_assert 1 / 0); with MSI
// enabled each rising edge of irq sends one MSI (vector 0). cfg_interrupt is
// held with stable cfg_interrupt_assert / cfg_interrupt_di until
// cfg_interrupt_rdy. A cause raised while irq is already high sends no second
// MSI: the driver reads IRQ.PENDING until it is 0 before returning.
//
// Ports
//   clk, rst                   user_clk_out, user_reset_out (active high)
//   rx_*                       m_axis_rx_* of pcie_7x
//   tx_*                       s_axis_tx_* of pcie_7x
//   cfg_completer_id           {cfg_bus_number, cfg_device_number, cfg_function_number}
//   bar_req_*, bar_rsp_*       card BAR0 port: never stalls, read data one
//                              cycle after the request, writes posted
//   irq                        card interrupt line (level)
//   cfg_interrupt*             pcie_7x interrupt request handshake
`default_nettype none

module duplex_pcie_adapter (
    input  wire         clk,
    input  wire         rst,
    // Requests from the PCIe block (m_axis_rx)
    input  wire [127:0] rx_tdata,
    input  wire [15:0]  rx_tkeep,
    input  wire         rx_tvalid,
    output wire         rx_tready,
    input  wire         rx_tlast,
    input  wire [21:0]  rx_tuser,
    // Completions to the PCIe block (s_axis_tx)
    output reg  [127:0] tx_tdata,
    output wire [15:0]  tx_tkeep,
    output reg          tx_tvalid,
    input  wire         tx_tready,
    output wire         tx_tlast,
    output wire [3:0]   tx_tuser,
    // Configuration
    input  wire [15:0]  cfg_completer_id,
    // Card BAR0 port
    output reg          bar_req_valid,
    output reg          bar_req_write,
    output reg  [15:0]  bar_req_addr,
    output reg  [31:0]  bar_req_wdata,
    input  wire         bar_rsp_valid,
    input  wire [31:0]  bar_rsp_rdata,
    // Interrupt
    input  wire         irq,
    input  wire         cfg_interrupt_msienable,
    output reg          cfg_interrupt,
    output reg          cfg_interrupt_assert,
    output wire [7:0]   cfg_interrupt_di,
    input  wire         cfg_interrupt_rdy
);
    // Framing is in rx_tuser on the 128-bit interface; rx_tuser[1:0]
    // (ECRC error, error forward) duplicate the EP bit / are not checked.
    wire unused_rx = &{1'b0, rx_tkeep, rx_tlast, rx_tuser[18:17], rx_tuser[16:15],
                        rx_tuser[11:10], rx_tuser[9:3], rx_tuser[1:0]};

    function [31:0] bswap(input [31:0] w);
        bswap = {w[7:0], w[15:8], w[23:16], w[31:24]};
    endfunction

    // ---------------------------------------------------------------- RX beat
    reg         b_valid;
    reg [127:0] b_data;
    reg         b_sof, b_eof;     // is_sof[4], is_eof[4]
    reg [1:0]   b_sof_dw, b_eof_dw; // is_sof[3:2], is_eof[3:2]
    reg         b_bar0;
    reg [1:0]   lane;        // first DW of b_data not yet processed

    // ------------------------------------------------- state of the open TLP
    reg        in_tlp;       // between a processed is_sof and its is_eof
    reg [10:0] idx;          // index of the next DW within the TLP
    reg        t_4dw;        // 4-DW header
    reg        t_write;      // MWr to BAR0, not poisoned: act on its payload
    reg        t_read;       // MRd 1 DW to BAR0: act on its address DW
    reg [10:0] t_len;        // payload / request length in DW (1..1024)
    reg [2:0]  t_tc;
    reg [2:0]  t_attr;       // {IDO, RO, NS}
    reg [15:0] t_rid;
    reg [7:0]  t_tag;
    reg [3:0]  t_fbe, t_lbe;
    reg [13:0] t_dwaddr;     // BAR0 DW offset of the first payload DW

    // ------------------------------------------------------------ completion
    reg        cpl_busy;     // a read is between its request and tx_tready
    reg        rsp_due;      // bar_rsp_* carries this read's data this cycle
    reg [95:0] cpl_hdr;      // 3-DW CplD header of the outstanding read

    // Byte count and lower address of a 1-DW read from its first byte enables
    // (PCIe 2.1 section 2.3.1.1, tables 2-21/2-22; BE 0000 counts as 1 byte).
    function [2:0] byte_count(input [3:0] fbe);
        casez (fbe)
            4'b1??1: byte_count = 3'd4;
            4'b01?1, 4'b1?10: byte_count = 3'd3;
            4'b0011, 4'b0110, 4'b1100: byte_count = 3'd2;
            default: byte_count = 3'd1;
        endcase
    endfunction
    function [1:0] low_addr(input [3:0] fbe);
        casez (fbe)
            4'b???1: low_addr = 2'd0;
            4'b??10: low_addr = 2'd1;
            4'b?100: low_addr = 2'd2;
            4'b1000: low_addr = 2'd3;
            default: low_addr = 2'd0;
        endcase
    endfunction

    // ------------------------------------------------ lane scan (combinational)
    reg         n_in_tlp, n_4dw, n_write, n_read, stop, n_done;
    reg [10:0]  n_idx, n_len, k, d;
    reg [2:0]   n_tc, n_attr;
    reg [15:0]  n_rid;
    reg [7:0]   n_tag;
    reg [3:0]   n_fbe, n_lbe, be;
    reg [13:0]  n_dwaddr;
    reg [1:0]   n_lane;
    reg [31:0]  dw;
    reg         sof_here, eof_here, act_rd, act_wr, fresh;
    reg         q_valid, q_write, q_cpl, q_zero;
    reg [15:0]  q_addr;
    reg [31:0]  q_wdata;
    reg [95:0]  q_hdr;    // CplD header of the read issued this cycle
    reg [10:0]  hlen;
    integer     i;

    always @* begin
        n_in_tlp = in_tlp; n_idx = idx; n_4dw = t_4dw; n_write = t_write; n_read = t_read;
        n_len = t_len; n_tc = t_tc; n_attr = t_attr; n_rid = t_rid; n_tag = t_tag;
        n_fbe = t_fbe; n_lbe = t_lbe; n_dwaddr = t_dwaddr;
        q_valid = 1'b0; q_write = 1'b0; q_addr = 16'd0; q_wdata = 32'd0;
        q_cpl = 1'b0; q_zero = 1'b0; q_hdr = 96'd0;
        stop = 1'b0; n_lane = lane;
        dw = 32'd0; sof_here = 1'b0; eof_here = 1'b0; act_rd = 1'b0; act_wr = 1'b0;
        k = 11'd0; d = 11'd0; be = 4'd0; hlen = 11'd3; fresh = 1'b0;
        for (i = 0; i < 4; i = i + 1) begin
            if (b_valid && !stop && i >= {30'd0, lane}) begin
                dw = b_data[32*i +: 32];
                sof_here = b_sof && b_sof_dw == i[1:0];
                eof_here = b_eof && b_eof_dw == i[1:0];
                fresh = sof_here || n_in_tlp;
                k = sof_here ? 11'd0 : n_idx;
                hlen = n_4dw ? 11'd4 : 11'd3;
                d = k - hlen;
                be = d == 11'd0 ? n_fbe : (d == n_len - 11'd1 ? n_lbe : 4'hF);
                act_rd = fresh && k != 11'd0 && n_read && k == hlen - 11'd1;
                act_wr = fresh && k != 11'd0 && n_write && k >= hlen && d < n_len && be == 4'hF;
                if ((act_rd && (cpl_busy || q_valid || q_cpl)) || (act_wr && q_valid)) begin
                    // Cannot act this cycle: resume at this DW.
                    stop = 1'b1;
                    n_lane = i[1:0];
                end else if (fresh) begin
                    case (k)
                        11'd0: begin
                            // DW0: R Fmt[1:0] Type[4:0] | R TC R Attr2 R TH TD EP Attr[1:0] AT Length
                            n_4dw = dw[29];
                            n_len = {dw[9:0] == 10'd0, dw[9:0]};
                            n_tc = dw[22:20];
                            n_attr = {dw[18], dw[13:12]};
                            n_read = b_bar0 && dw[28:24] == 5'b00000 && !dw[30] && dw[9:0] == 10'd1;
                            n_write = b_bar0 && dw[28:24] == 5'b00000 && dw[30] && !dw[14];
                        end
                        11'd1: begin
                            // DW1: Requester ID | Tag | Last BE | First BE
                            n_rid = dw[31:16];
                            n_tag = dw[15:8];
                            n_lbe = dw[7:4];
                            n_fbe = dw[3:0];
                        end
                        default: ;
                    endcase
                    // The last header DW holds address bits [31:2].
                    if (k != 11'd0 && k == hlen - 11'd1) n_dwaddr = dw[15:2];
                    if (act_rd) begin
                        q_cpl = 1'b1;
                        // CplD header (PCIe 2.1 section 2.2.9), taken here: a TLP
                        // starting later in this beat overwrites the n_* fields.
                        q_hdr = {
                            // DW2: Requester ID | Tag | R | Lower Address[6:0]
                            n_rid, n_tag, 1'b0, dw[6:2], low_addr(n_fbe),
                            // DW1: Completer ID | Status SC | BCM | Byte Count
                            cfg_completer_id, 3'b000, 1'b0, 9'd0, byte_count(n_fbe),
                            // DW0: CplD (Fmt 3 DW with data, Type 01010), TC and
                            // attributes of the request, TH/TD/EP/AT 0, length 1
                            1'b0, 2'b10, 5'b01010, 1'b0, n_tc, 1'b0, n_attr[2], 1'b0, 1'b0,
                            1'b0, 1'b0, n_attr[1:0], 2'b00, 10'd1};
                        q_zero = n_fbe == 4'd0;
                        q_valid = n_fbe != 4'd0;
                        q_write = 1'b0;
                        q_addr = {dw[15:2], 2'b00};
                    end
                    if (act_wr) begin
                        q_valid = 1'b1;
                        q_write = 1'b1;
                        q_addr = {n_dwaddr + {3'd0, d}, 2'b00};
                        q_wdata = bswap(dw);
                    end
                    n_idx = k + 11'd1;
                    n_in_tlp = !eof_here;
                end
            end
        end
        n_done = b_valid && !stop;
        if (n_done) n_lane = 2'd0;
    end

    assign rx_tready = !b_valid || n_done;

    always @(posedge clk) begin
        if (rst) begin
            b_valid <= 1'b0;
            lane <= 2'd0;
            in_tlp <= 1'b0;
            idx <= 11'd0;
            t_write <= 1'b0;
            t_read <= 1'b0;
        end else begin
            if (rx_tvalid && rx_tready) begin
                b_valid <= 1'b1;
                b_data <= rx_tdata;
                b_sof <= rx_tuser[14];
                b_sof_dw <= rx_tuser[13:12];
                b_eof <= rx_tuser[21];
                b_eof_dw <= rx_tuser[20:19];
                b_bar0 <= rx_tuser[2];
            end else if (n_done) begin
                b_valid <= 1'b0;
            end
            lane <= n_lane;
            in_tlp <= n_in_tlp;
            idx <= n_idx;
            t_write <= n_write;
            t_read <= n_read;
        end
        t_4dw <= n_4dw; t_len <= n_len; t_tc <= n_tc; t_attr <= n_attr;
        t_rid <= n_rid; t_tag <= n_tag; t_fbe <= n_fbe; t_lbe <= n_lbe; t_dwaddr <= n_dwaddr;
    end

    // --------------------------------------------------------- BAR0 requests
    always @(posedge clk) begin
        if (rst) begin
            bar_req_valid <= 1'b0;
            bar_req_write <= 1'b0;
        end else begin
            bar_req_valid <= q_valid;
            bar_req_write <= q_write;
        end
        bar_req_addr <= q_addr;
        bar_req_wdata <= q_wdata;
    end

    // ------------------------------------------------------------ completion
    assign tx_tkeep = 16'hFFFF;
    assign tx_tlast = 1'b1;
    assign tx_tuser = 4'b0000;  // {src_dsc, str, err_fwd, ecrc_gen}

    always @(posedge clk) begin
        if (rst) begin
            cpl_busy <= 1'b0;
            rsp_due <= 1'b0;
            tx_tvalid <= 1'b0;
        end else begin
            rsp_due <= bar_req_valid && !bar_req_write;
            if (q_cpl) begin
                cpl_busy <= 1'b1;
                cpl_hdr <= q_hdr;
            end
            if (q_cpl && q_zero) begin
                // Zero-length read: complete with data 0, no register access.
                tx_tvalid <= 1'b1;
                tx_tdata <= {32'd0, q_hdr};
            end else if (rsp_due) begin
                // The card never misses the cycle; all-ones if it did.
                tx_tvalid <= 1'b1;
                tx_tdata <= {bswap(bar_rsp_valid ? bar_rsp_rdata : 32'hFFFF_FFFF), cpl_hdr};
            end else if (tx_tvalid && tx_tready) begin
                tx_tvalid <= 1'b0;
                cpl_busy <= 1'b0;
            end
        end
    end

    // ------------------------------------------------------------- interrupt
    reg intx_on;   // Assert_INTA sent, Deassert_INTA not yet
    reg msi_sent;  // an MSI was sent for the current high period of irq
    reg int_msi;   // the outstanding request is an MSI
    assign cfg_interrupt_di = 8'd0;

    always @(posedge clk) begin
        if (rst) begin
            cfg_interrupt <= 1'b0;
            cfg_interrupt_assert <= 1'b0;
            intx_on <= 1'b0;
            msi_sent <= 1'b0;
            int_msi <= 1'b0;
        end else begin
            if (!irq) msi_sent <= 1'b0;
            if (cfg_interrupt) begin
                if (cfg_interrupt_rdy) begin
                    cfg_interrupt <= 1'b0;
                    if (int_msi) msi_sent <= 1'b1;
                    else intx_on <= cfg_interrupt_assert;
                end
            end else if (cfg_interrupt_msienable) begin
                // INTx is not used while MSI is enabled (PCIe 2.1 section 6.1.4.3).
                intx_on <= 1'b0;
                if (irq && !msi_sent) begin
                    cfg_interrupt <= 1'b1;
                    cfg_interrupt_assert <= 1'b0;
                    int_msi <= 1'b1;
                end
            end else if (irq != intx_on) begin
                cfg_interrupt <= 1'b1;
                cfg_interrupt_assert <= irq;
                int_msi <= 1'b0;
            end
        end
    end
endmodule

`default_nettype wire
