# More names than a set scans linearly: the duplicate is still found.
let x = 0; in {
  a01 = 1; a02 = 2; a03 = 3; a04 = 4; a05 = 5; a06 = 6; a07 = 7; a08 = 8; a09 = 9;
  a10 = 10; a11 = 11; a12 = 12; a13 = 13; a14 = 14; a15 = 15; a16 = 16; a17 = 17;
  inherit x;
  a18 = 18;
  x = 1;
}
