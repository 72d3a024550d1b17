// hypotf.c defines a libm symbol for the linker; there is nothing to import.
