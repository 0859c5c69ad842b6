// legpress printed parts (OpenSCAD). Units: mm.
//
//   openscad -D 'part="drum"'  -o drum.stl  legpress_parts.scad
//   openscad -D 'part="disc"'  -o disc.stl  legpress_parts.scad   (print 8, PETG/PLA, 100 % infill)
//   openscad -D 'part="puck"'  -o puck.stl  legpress_parts.scad   (print 8, TPU 95A)
//
// drum: capstan for the draw-wire. The cord makes 1.5 turns on the 30 mm groove, so the
// effective (pitch) diameter is groove + cord = 31 mm with a 1 mm cord; pinmap.json and
// tools/sled.py use that number, and the tape-measure check in calibration.md corrects the rest.
// The encoder shaft is 6 mm (D-flat or round): clamp it with an M3 set screw in the nut trap.

part = "drum";

$fn = 96;

groove_d = 30;        // cord bed diameter
groove_w = 8;         // room for 1.5 turns of a 1 mm cord without overlap
flange_d = 38;
flange_t = 2;
hub_d = 16;
hub_l = 9;
bore_d = 6.2;         // 6 mm shaft + clearance
m3_d = 3.3;
nut_w = 5.7;          // M3 nut across flats + clearance
nut_t = 2.6;

disc_d = 20;  disc_t = 1.0;   // rigid backing under each FSR (on the foam side)
puck_d = 10;  puck_t = 1.5;   // actuator on the FSR, smaller than the 12.7 mm active area

module drum() {
    difference() {
        union() {
            cylinder(d = flange_d, h = flange_t);
            translate([0, 0, flange_t]) cylinder(d = groove_d, h = groove_w);
            translate([0, 0, flange_t + groove_w]) cylinder(d = flange_d, h = flange_t);
            translate([0, 0, 2 * flange_t + groove_w]) cylinder(d = hub_d, h = hub_l);
        }
        // shaft bore
        translate([0, 0, -1]) cylinder(d = bore_d, h = 2 * flange_t + groove_w + hub_l + 2);
        // radial M3 set screw through the hub, with a nut trap
        z = 2 * flange_t + groove_w + hub_l / 2;
        translate([0, 0, z]) rotate([0, 90, 0]) cylinder(d = m3_d, h = hub_d);
        translate([bore_d / 2 + 1.2, -nut_w / 2, z - nut_w / 2 - 0.2])
            cube([nut_t, nut_w, hub_l]);
        // cord anchor hole across the groove: tie the cord end here (stopper knot)
        translate([0, 0, flange_t + groove_w / 2]) rotate([90, 0, 0])
            translate([groove_d / 2 - 4, 0, -groove_d]) cylinder(d = 1.8, h = 2 * groove_d);
    }
}

module disc() { cylinder(d = disc_d, h = disc_t); }
module puck() { cylinder(d = puck_d, h = puck_t); }

if (part == "drum") drum();
else if (part == "disc") disc();
else if (part == "puck") puck();
else echo(str("unknown part ", part));
