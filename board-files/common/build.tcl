# Vivado batch build of a duplex board (non-project mode).
#   vivado -mode batch -source board-files/common/build.tcl -tclargs BOARD PART LANES CORE.v OUTDIR UPDATE_ADDR FLASH_MB
# Called by board-files/<board>/build.sh. Needs Vivado 2019.1 or later with
# the 7 Series Integrated Block for PCI Express IP (free in the WebPACK
# edition for XC7A200T; XC7K325T needs a device license).
lassign $argv board part lanes core outdir update_addr flash_mb
set here [file dirname [file normalize [info script]]]
file mkdir $outdir
create_project -in_memory -part $part

create_ip -name pcie_7x -vendor xilinx.com -library ip -module_name pcie_7x_0 -dir $outdir
set_property -dict [list \
    CONFIG.Maximum_Link_Width X$lanes \
    CONFIG.Link_Speed 5.0_GT/s \
    CONFIG.Interface_Width 128_bit \
    CONFIG.User_Clk_Freq 250 \
    CONFIG.Bar0_Enabled true CONFIG.Bar0_Type Memory CONFIG.Bar0_Scale Kilobytes CONFIG.Bar0_Size 64 \
    CONFIG.Vendor_ID 10EE CONFIG.Device_ID 7024 CONFIG.Class_Code_Base 05 CONFIG.Class_Code_Sub 80 \
    ] [get_ips pcie_7x_0]
generate_target all [get_ips pcie_7x_0]
synth_ip [get_ips pcie_7x_0]

read_verilog $core
read_verilog [file join $here duplex_board_top.v]
read_verilog [file join $here duplex_pcie_adapter.v]
read_xdc [file join $here .. $board $board.xdc]

synth_design -top duplex_board_top -part $part -generic LANES=$lanes \
    -generic UPDATE_ADDR=32'h$update_addr -flatten_hierarchy rebuilt
opt_design
place_design
route_design
report_utilization -file [file join $outdir utilization.rpt]
report_timing_summary -file [file join $outdir timing.rpt]
# Compressed (two images must fit the flash), multiboot with fallback to the
# golden image at 0 when the update image fails to configure (UG470 ch. 7).
set_property BITSTREAM.GENERAL.COMPRESS TRUE [current_design]
set_property BITSTREAM.CONFIG.CONFIGFALLBACK ENABLE [current_design]
set_property BITSTREAM.CONFIG.SPI_BUSWIDTH 1 [current_design]
if {$flash_mb > 16} { set_property BITSTREAM.CONFIG.SPI_32BIT_ADDR YES [current_design] }
write_bitstream -force [file join $outdir duplex_$board.bit]
write_cfgmem -force -format bin -interface SPIx1 -size $flash_mb \
    -loadbit "up 0x0 [file join $outdir duplex_$board.bit]" -file [file join $outdir duplex_$board.bin]
