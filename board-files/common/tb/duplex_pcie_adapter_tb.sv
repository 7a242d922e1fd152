// Testbench (Verilator) for duplex_pcie_adapter: real 128-bit pcie_7x RX beats
// (3-DW and 4-DW headers, TLPs starting in DW2, straddled back-to-back TLPs,
// unsupported TLPs) into the adapter, a 64-word BAR0 register model answering
// one cycle later, a TX sink with back-pressure, and a cfg_interrupt
// responder. Checks every CplD (header fields, data, tkeep/tlast, stability
// under back-pressure), the register contents against a shadow copy, the
// BAR protocol, and the INTx / MSI handshakes. Prints PASS and exits 0.
//   run: verilator --binary --top-module duplex_pcie_adapter_tb tb.sv adapter.v
// Plusargs: +seed=N (random phase), +trace (VCD in the current directory).
`timescale 1ns / 1ps
module duplex_pcie_adapter_tb;
    localparam [15:0] COMPLETER = 16'h0A08;  // bus 0x0A, device 1, function 0
    bit clk = 0, rst = 1;
    always #2 clk = !clk;

    // DUT ports
    logic [127:0] rx_tdata = '0;  logic [21:0] rx_tuser = '0;
    logic rx_tvalid = 0, rx_tready;
    logic [127:0] tx_tdata; logic [15:0] tx_tkeep; logic [3:0] tx_tuser;
    logic tx_tvalid, tx_tlast, tx_tready = 1;
    logic bar_req_valid, bar_req_write; logic [15:0] bar_req_addr; logic [31:0] bar_req_wdata;
    logic bar_rsp_valid = 0; logic [31:0] bar_rsp_rdata = '0;
    logic irq = 0, msien = 0, int_rdy = 0, cfg_interrupt, cfg_interrupt_assert;
    logic [7:0] cfg_interrupt_di;

    duplex_pcie_adapter dut (
        .clk(clk), .rst(rst),
        .rx_tdata(rx_tdata), .rx_tkeep(16'hFFFF), .rx_tvalid(rx_tvalid), .rx_tready(rx_tready),
        .rx_tlast(1'b0), .rx_tuser(rx_tuser),
        .tx_tdata(tx_tdata), .tx_tkeep(tx_tkeep), .tx_tvalid(tx_tvalid), .tx_tready(tx_tready),
        .tx_tlast(tx_tlast), .tx_tuser(tx_tuser),
        .cfg_completer_id(COMPLETER),
        .bar_req_valid(bar_req_valid), .bar_req_write(bar_req_write), .bar_req_addr(bar_req_addr),
        .bar_req_wdata(bar_req_wdata), .bar_rsp_valid(bar_rsp_valid), .bar_rsp_rdata(bar_rsp_rdata),
        .irq(irq), .cfg_interrupt_msienable(msien), .cfg_interrupt(cfg_interrupt),
        .cfg_interrupt_assert(cfg_interrupt_assert), .cfg_interrupt_di(cfg_interrupt_di),
        .cfg_interrupt_rdy(int_rdy)
    );

    int errors = 0;
    `define CHECK(c, msg) if (!(c)) begin errors++; $display("FAIL %s (t=%0t)", msg, $time); end

    function automatic [31:0] bswap(input [31:0] w);
        return {w[7:0], w[15:8], w[23:16], w[31:24]};
    endfunction

    // ------------------------------------------------ BAR0 register model
    // 64 words at byte offsets 0..0xFC (addr[7:2]); answers one cycle later.
    logic [31:0] mem [0:63];
    logic [31:0] shadow [0:63];
    int n_bar_reads = 0, n_bar_writes = 0;
    always @(posedge clk) begin
        bar_rsp_valid <= bar_req_valid && !bar_req_write;
        if (bar_req_valid) begin
            `CHECK(bar_req_addr[1:0] == 2'b00, "bar_req_addr is DW aligned")
            `CHECK(bar_req_addr[15:8] == 8'h00, "bar_req_addr inside the model")
            if (bar_req_write) begin mem[bar_req_addr[7:2]] <= bar_req_wdata; n_bar_writes++; end
            else begin bar_rsp_rdata <= mem[bar_req_addr[7:2]]; n_bar_reads++; end
        end
    end

    // ------------------------------------------------ RX beat queue and driver
    localparam MAXB = 8192;
    logic [127:0] q_data [0:MAXB-1];
    logic [21:0]  q_user [0:MAXB-1];
    int q_head = 0, q_tail = 0;
    int rx_idle_pct = 0;  // chance of an idle cycle before each beat

    // Packer state: the beat being filled.
    logic [127:0] pk_data = '0;  logic [4:0] pk_sof = '0, pk_eof = '0;  logic [7:0] pk_bar = '0;
    int pk_lane = 0;
    bit straddle = 1;  // let a TLP start in DW2 right after one ending in DW0/DW1

    function automatic void pk_flush();
        if (pk_lane == 0 && pk_sof == 0 && pk_eof == 0) return;
        q_data[q_tail] = pk_data;
        q_user[q_tail] = {pk_eof, 2'b00, pk_sof, pk_bar, 2'b00};
        if (debug) $display("push %0d %h sof %b eof %b", q_tail, pk_data, pk_sof, pk_eof);
        q_tail++;
        pk_data = '0; pk_sof = '0; pk_eof = '0; pk_bar = '0; pk_lane = 0;
    endfunction

    // Appends one TLP (dws[0..n-1]) with BAR hit bits; mid: start in DW2 even
    // with DW0/DW1 empty.
    function automatic void put_tlp(input logic [31:0] dws[$], input logic [7:0] bar, input bit mid);
        if (pk_lane == 3 || (pk_lane > 0 && !straddle) || (pk_lane > 0 && pk_sof[4])) pk_flush();
        if (pk_lane == 1) pk_lane = 2;
        if (mid && pk_lane == 0) pk_lane = 2;
        pk_sof = {1'b1, pk_lane[1:0], 2'b00};
        pk_bar = bar;
        foreach (dws[j]) begin
            if (pk_lane == 4) pk_flush();
            pk_data[32*pk_lane +: 32] = dws[j];
            if (j == dws.size() - 1) pk_eof = {1'b1, pk_lane[1:0], 2'b11};
            pk_lane++;
        end
        if (pk_lane == 4) pk_flush();
    endfunction

    // ------------------------------------------------ TLP builders and expectations
    typedef struct packed {
        logic [15:0] rid; logic [7:0] tag; logic [2:0] tc; logic [2:0] attr;
        logic [6:0] la; logic [11:0] bc; logic [31:0] data;
    } cpl_t;
    cpl_t expect_q[$];

    function automatic logic [31:0] dw0(input [1:0] fmt, input [4:0] typ, input [2:0] tc,
                                         input [2:0] attr, input bit ep, input [9:0] len);
        return {1'b0, fmt, typ, 1'b0, tc, 1'b0, attr[2], 1'b0, 1'b0, 1'b0, ep, attr[1:0], 2'b00, len};
    endfunction

    // Memory write: n DWs of values vals (host little-endian register values).
    function automatic void mwr(input [15:0] off, input bit four, input logic [31:0] vals[$],
                                input [3:0] fbe, input [3:0] lbe, input [7:0] bar, input bit ep,
                                input bit mid, input bit apply);
        logic [31:0] t[$];
        int n = vals.size();
        t.delete();  // locals of automatic functions persist between calls in Verilator 5.006
        t.push_back(dw0(four ? 2'b11 : 2'b10, 5'b00000, 3'd0, 3'd0, ep, n[9:0]));
        t.push_back({16'h0100, 8'h00, lbe, fbe});
        if (four) begin t.push_back(32'h0000_0001); t.push_back({16'hF7C0, off[15:2], 2'b00}); end
        else t.push_back({16'hF7C0, off[15:2], 2'b00});
        foreach (vals[j]) t.push_back(bswap(vals[j]));
        put_tlp(t, bar, mid);
        if (apply) foreach (vals[j]) begin
            logic [3:0] be = (j == 0) ? fbe : (j == n - 1 ? lbe : 4'hF);
            if (be == 4'hF) shadow[(int'(off[7:2]) + j) % 64] = vals[j];
        end
    endfunction

    // Memory read of one DW; expect: a CplD is due (BAR0, supported).
    function automatic void mrd(input [15:0] off, input bit four, input [3:0] fbe, input [15:0] rid,
                                input [7:0] tag, input [2:0] tc, input [2:0] attr, input [7:0] bar,
                                input [9:0] len, input bit mid, input bit expect_cpl);
        logic [31:0] t[$];
        cpl_t c;
        t.delete();
        t.push_back(dw0(four ? 2'b01 : 2'b00, 5'b00000, tc, attr, 1'b0, len));
        t.push_back({rid, tag, 4'h0, fbe});
        if (four) begin t.push_back(32'h0000_0001); t.push_back({16'hF7C0, off[15:2], 2'b00}); end
        else t.push_back({16'hF7C0, off[15:2], 2'b00});
        put_tlp(t, bar, mid);
        if (expect_cpl) begin
            c.rid = rid; c.tag = tag; c.tc = tc; c.attr = attr;
            casez (fbe)
                4'b???1: c.la = {off[6:2], 2'd0};
                4'b??10: c.la = {off[6:2], 2'd1};
                4'b?100: c.la = {off[6:2], 2'd2};
                4'b1000: c.la = {off[6:2], 2'd3};
                default: c.la = {off[6:2], 2'd0};
            endcase
            casez (fbe)
                4'b1??1: c.bc = 4;
                4'b01?1, 4'b1?10: c.bc = 3;
                4'b0011, 4'b0110, 4'b1100: c.bc = 2;
                default: c.bc = 1;
            endcase
            c.data = fbe == 0 ? 32'd0 : shadow[off[7:2]];
            expect_q.push_back(c);
        end
    endfunction

    // ------------------------------------------------ TX sink and checker
    int tx_stall_pct = 0, n_cpl = 0;
    logic [127:0] held; bit holding = 0;
    always @(posedge clk) if (!rst) begin
        if (holding) `CHECK(tx_tvalid, "tx_tvalid stays high until tx_tready")
        if (tx_tvalid) begin
            if (holding) `CHECK(tx_tdata == held, "tx_tdata stable while tx_tready is low")
            `CHECK(tx_tkeep == 16'hFFFF && tx_tlast && tx_tuser == 4'd0, "CplD beat: tkeep FFFF, tlast, tuser 0")
        end
        if (tx_tvalid && tx_tready) begin
            cpl_t e;
            holding = 0;
            n_cpl++;
            if (expect_q.size() == 0) begin errors++; $display("FAIL unexpected completion %h", tx_tdata); end
            else begin
                e = expect_q.pop_front();
                `CHECK(tx_tdata[31:0] == dw0(2'b10, 5'b01010, e.tc, e.attr, 1'b0, 10'd1), "CplD DW0 (fmt/type, TC, attr, length 1)")
                `CHECK(tx_tdata[63:32] == {COMPLETER, 3'b000, 1'b0, e.bc}, "CplD DW1 (completer ID, SC, byte count)")
                `CHECK(tx_tdata[95:64] == {e.rid, e.tag, 1'b0, e.la}, "CplD DW2 (requester ID, tag, lower address)")
                `CHECK(tx_tdata[127:96] == bswap(e.data), "CplD data")
                if (tx_tdata != {bswap(e.data), e.rid, e.tag, 1'b0, e.la, COMPLETER, 4'b0000, e.bc,
                                 dw0(2'b10, 5'b01010, e.tc, e.attr, 1'b0, 10'd1)})
                    $display("   got  %h\n   want %h", tx_tdata, {bswap(e.data), e.rid, e.tag, 1'b0, e.la,
                             COMPLETER, 4'b0000, e.bc, dw0(2'b10, 5'b01010, e.tc, e.attr, 1'b0, 10'd1)});
            end
        end else if (tx_tvalid) begin
            holding = 1; held = tx_tdata;
        end
        tx_tready <= ($urandom_range(99) >= tx_stall_pct);
    end

    // RX driver: one beat per cycle from the queue, random idle cycles.
    always @(posedge clk) if (!rst) begin
        if (rx_tvalid && rx_tready) q_head++;
        if ((!rx_tvalid || rx_tready)) begin
            if (q_head + (rx_tvalid && rx_tready ? 0 : 0) < q_tail && $urandom_range(99) >= rx_idle_pct) begin
                rx_tvalid <= 1; rx_tdata <= q_data[q_head]; rx_tuser <= q_user[q_head];
            end else begin
                rx_tvalid <= 0;
            end
        end
    end

    task automatic drain(input int max_cycles);
        int c = 0;
        pk_flush();
        while ((q_head < q_tail || expect_q.size() != 0 || rx_tvalid || tx_tvalid) && c < max_cycles) begin
            @(posedge clk); c++;
        end
        repeat (4) @(posedge clk);
        `CHECK(q_head == q_tail && expect_q.size() == 0, "all beats taken and all completions seen")
    endtask

    task automatic check_regs(input string what);
        for (int j = 0; j < 64; j++)
            if (mem[j] !== shadow[j]) begin
                errors++; $display("FAIL %s: reg %0d = %h, want %h", what, j, mem[j], shadow[j]);
            end
    endtask

    // +debug: a line per RX beat taken, BAR request and completion sent.
    bit debug = 0;
    always @(posedge clk) if (debug) begin
        if (rx_tvalid && rx_tready) $display("%0t rx  %h sof %b eof %b bar %b", $time, rx_tdata, rx_tuser[14:10], rx_tuser[21:17], rx_tuser[9:2]);
        if (bar_req_valid) $display("%0t bar %s %h %h", $time, bar_req_write ? "W" : "R", bar_req_addr, bar_req_wdata);
        if (tx_tvalid && tx_tready) $display("%0t tx  %h", $time, tx_tdata);
    end

    // ------------------------------------------------ interrupt responder
    int n_assert = 0, n_deassert = 0, n_msi = 0, int_wait = 0;
    always @(posedge clk) if (!rst) begin
        int_rdy <= 0;
        if (cfg_interrupt && !int_rdy) begin
            if (int_wait == 3) begin
                int_rdy <= 1; int_wait = 0;
                `CHECK(cfg_interrupt_di == 8'd0, "cfg_interrupt_di is 0")
                if (msien) begin `CHECK(!cfg_interrupt_assert, "MSI request has assert 0") n_msi++; end
                else if (cfg_interrupt_assert) n_assert++; else n_deassert++;
            end else int_wait++;
        end
    end

    // ------------------------------------------------ scenario
    int seed = 1;
    initial begin
        logic [31:0] v[$];
        if ($value$plusargs("seed=%d", seed)) ;
        debug = $test$plusargs("debug");
        void'($urandom(seed));
        if ($test$plusargs("trace")) begin $dumpfile("duplex_pcie_adapter_tb.vcd"); $dumpvars(0, duplex_pcie_adapter_tb); end
        for (int j = 0; j < 64; j++) begin mem[j] = 32'hDEAD_0000 | j; shadow[j] = 32'hDEAD_0000 | j; end
        repeat (4) @(posedge clk);
        rst = 0;

        // 1. MWr32 (3-DW header, one beat), MWr64 (4-DW header, data in the
        //    next beat), then MRd32 and MRd64 of both registers.
        mwr(16'h0010, 0, '{32'h1122_3344}, 4'hF, 4'h0, 8'h01, 0, 0, 1);
        mwr(16'h0014, 1, '{32'hA5A5_0001}, 4'hF, 4'h0, 8'h01, 0, 0, 1);
        mrd(16'h0010, 0, 4'hF, 16'h0100, 8'h01, 3'd0, 3'd0, 8'h01, 10'd1, 0, 1);
        mrd(16'h0014, 1, 4'hF, 16'h0100, 8'h02, 3'd2, 3'b101, 8'h01, 10'd1, 0, 1);
        drain(200); check_regs("basic MWr/MRd");
        $display("case basic_3dw_4dw: ok=%0d", errors == 0);

        // 2. A TLP starting in DW2 of a beat with DW0/DW1 empty (3-DW MRd ends
        //    in DW0 of the next beat; 4-DW MWr ends in DW2 of the next beat).
        mrd(16'h0020, 0, 4'hF, 16'h0200, 8'h10, 3'd0, 3'd0, 8'h01, 10'd1, 1, 1);
        pk_flush();
        mwr(16'h0024, 1, '{32'hCAFE_F00D}, 4'hF, 4'h0, 8'h01, 0, 1, 1);
        pk_flush();
        mrd(16'h0024, 1, 4'hF, 16'h0200, 8'h11, 3'd0, 3'd0, 8'h01, 10'd1, 1, 1);
        drain(200); check_regs("mid-beat start");
        $display("case start_in_dw2: ok=%0d", errors == 0);

        // 3. Back-to-back straddled TLPs: a 4-DW MWr ending in DW0 and a MRd
        //    starting in DW2 of the same beat, a read of the just-written
        //    register, several writes in a row, no idle cycles.
        straddle = 1;
        mwr(16'h0030, 1, '{32'h0000_0030}, 4'hF, 4'h0, 8'h01, 0, 0, 1);
        mrd(16'h0030, 0, 4'hF, 16'h0300, 8'h20, 3'd0, 3'd0, 8'h01, 10'd1, 0, 1);
        mwr(16'h0034, 0, '{32'h0000_0034}, 4'hF, 4'h0, 8'h01, 0, 0, 1);
        mwr(16'h0038, 1, '{32'h0000_0038}, 4'hF, 4'h0, 8'h01, 0, 0, 1);
        mwr(16'h003C, 1, '{32'h0000_003C}, 4'hF, 4'h0, 8'h01, 0, 0, 1);
        mrd(16'h0038, 1, 4'hF, 16'h0300, 8'h21, 3'd0, 3'd0, 8'h01, 10'd1, 0, 1);
        mrd(16'h003C, 0, 4'hF, 16'h0300, 8'h22, 3'd0, 3'd0, 8'h01, 10'd1, 0, 1);
        drain(300); check_regs("straddle");
        $display("case straddled_back_to_back: ok=%0d", errors == 0);

        // 4. Multi-DW writes split into DW writes; partial first/last BE DWs
        //    dropped; byte count and lower address of partial reads; a
        //    zero-length read completes with 0 and touches no register.
        mwr(16'h0040, 0, '{32'h4000_0000, 32'h4000_0001, 32'h4000_0002, 32'h4000_0003, 32'h4000_0004, 32'h4000_0005}, 4'hF, 4'hF, 8'h01, 0, 0, 1);
        mwr(16'h0060, 1, '{32'h6000_0000, 32'h6000_0001, 32'h6000_0002}, 4'h3, 4'hC, 8'h01, 0, 0, 1);
        mrd(16'h0044, 0, 4'h6, 16'h0400, 8'h30, 3'd0, 3'd0, 8'h01, 10'd1, 0, 1);
        mrd(16'h0048, 0, 4'h8, 16'h0400, 8'h31, 3'd0, 3'd0, 8'h01, 10'd1, 0, 1);
        mrd(16'h004C, 0, 4'h3, 16'h0400, 8'h32, 3'd0, 3'd0, 8'h01, 10'd1, 0, 1);
        drain(300);
        begin
            int r_before = n_bar_reads;
            mrd(16'h0050, 0, 4'h0, 16'h0400, 8'h33, 3'd0, 3'd0, 8'h01, 10'd1, 0, 1);
            drain(300);
            `CHECK(n_bar_reads == r_before, "zero-length read makes no register access")
        end
        check_regs("multi-DW writes");
        $display("case split_writes_partial_be_zero_length: ok=%0d", errors == 0);

        // 5. Unsupported TLPs are discarded and the adapter keeps going: I/O
        //    write and read, MRd of 2 DW, MRd to BAR1, MWr to BAR2, a message
        //    with data, a poisoned MWr, a locked read; then a normal read.
        begin
            logic [31:0] t[$];
            int w0 = n_bar_writes, r0 = n_bar_reads;
            t = '{dw0(2'b10, 5'b00010, 0, 0, 0, 10'd1), 32'h0100_000F, 32'h0000_0040, 32'h1234_5678};
            put_tlp(t, 8'h01, 0);                                              // IOWr
            t = '{dw0(2'b00, 5'b00010, 0, 0, 0, 10'd1), 32'h0100_010F, 32'h0000_0040};
            put_tlp(t, 8'h01, 0);                                              // IORd
            mrd(16'h0040, 0, 4'hF, 16'h0500, 8'h40, 0, 0, 8'h01, 10'd2, 0, 0); // 2 DW
            mrd(16'h0040, 0, 4'hF, 16'h0500, 8'h41, 0, 0, 8'h02, 10'd1, 0, 0); // BAR1
            mwr(16'h0040, 0, '{32'hBAD0_0002}, 4'hF, 4'h0, 8'h04, 0, 0, 0);   // BAR2
            t = '{dw0(2'b11, 5'b10010, 0, 0, 0, 10'd2), 32'h0100_007F, 32'h0, 32'h0, 32'hBAD0_0003, 32'hBAD0_0004};
            put_tlp(t, 8'h00, 0);                                              // MsgD
            mwr(16'h0040, 0, '{32'hBAD0_0005}, 4'hF, 4'h0, 8'h01, 1, 0, 0);   // poisoned
            t = '{dw0(2'b00, 5'b00001, 0, 0, 0, 10'd1), 32'h0100_020F, 32'h0000_0040};
            put_tlp(t, 8'h01, 0);                                              // MRdLk
            mrd(16'h0040, 0, 4'hF, 16'h0500, 8'h42, 0, 0, 8'h01, 10'd1, 0, 1);
            drain(300);
            `CHECK(n_bar_writes == w0 && n_bar_reads == r0 + 1, "discarded TLPs make no register access")
            check_regs("unsupported");
        end
        $display("case unsupported_discarded: ok=%0d", errors == 0);

        // 6. TX back-pressure: tx_tready low most of the time while reads
        //    queue up; RX stalls and every completion arrives in order.
        tx_stall_pct = 85;
        for (int j = 0; j < 16; j++)
            mrd(16'((j * 4) % 256), j[0], 4'hF, 16'h0600, 8'(80 + j), 3'(j), 3'(j), 8'h01, 10'd1, 0, 1);
        drain(2000); tx_stall_pct = 0;
        $display("case tx_backpressure: ok=%0d", errors == 0);

        // 7. Seeded random mix with idle RX cycles and TX back-pressure.
        rx_idle_pct = 30; tx_stall_pct = 40;
        for (int j = 0; j < 400; j++) begin
            int kind = $urandom_range(9);
            logic [15:0] off = {8'h00, 6'($urandom_range(63)), 2'b00};
            bit four = 1'($urandom_range(1));
            straddle = $urandom_range(3) != 0;
            if (kind < 4) begin
                int n = $urandom_range(3) == 0 ? $urandom_range(8, 2) : 1;
                v = {};
                for (int m = 0; m < n; m++) v.push_back($urandom);
                if (int'(off[7:2]) + n > 64) off = 16'h0000;
                mwr(off, four, v, 4'hF, n > 1 ? 4'hF : 4'h0, 8'h01, 0, $urandom_range(3) == 0, 1);
            end else if (kind < 8) begin
                mrd(off, four, 4'($urandom_range(15)), 16'($urandom), 8'($urandom), 3'($urandom), 3'($urandom), 8'h01, 10'd1, $urandom_range(3) == 0, 1);
            end else if (kind == 8) begin
                mrd(off, four, 4'hF, 16'h0700, 8'h77, 0, 0, 8'h02, 10'd1, 0, 0);
            end else begin
                mwr(off, four, '{32'hBAD0_0009}, 4'hF, 4'h0, 8'h02, 0, 0, 0);
            end
        end
        drain(20000); check_regs("random");
        rx_idle_pct = 0; tx_stall_pct = 0;
        $display("case random_seed_%0d: ok=%0d", seed, errors == 0);

        // 8. Interrupts: INTx mirrors the level (assert, deassert), MSI sends
        //    one message per rising edge.
        irq = 1; repeat (20) @(posedge clk);
        `CHECK(n_assert == 1 && n_deassert == 0, "INTx assert once while irq is high")
        irq = 0; repeat (20) @(posedge clk);
        `CHECK(n_assert == 1 && n_deassert == 1, "INTx deassert once when irq falls")
        msien = 1;
        irq = 1; repeat (20) @(posedge clk);
        irq = 0; repeat (5) @(posedge clk);
        irq = 1; repeat (20) @(posedge clk);
        `CHECK(n_msi == 2 && n_assert == 1 && n_deassert == 1, "MSI once per rising edge, no INTx")
        irq = 0; repeat (5) @(posedge clk);
        $display("case interrupts: ok=%0d", errors == 0);

        $display("completions %0d, register reads %0d, register writes %0d, beats %0d",
                 n_cpl, n_bar_reads, n_bar_writes, q_tail);
        if (errors == 0) begin $display("PASS"); $finish; end
        else begin $display("FAILED with %0d errors", errors); $fatal(1); end
    end

    initial begin #2000000; $display("FAIL timeout"); $fatal(1); end
endmodule
