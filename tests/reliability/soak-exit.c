/*
 * soak-exit.c - the child of "make soak": exit with the first argument.
 * Linked statically where the toolchain can, so that each of the million
 * children costs little more than the exec itself.
 */
#include <stdlib.h>

int main(int argc, char **argv)
{
    return argc > 1 ? atoi(argv[1]) & 0xff : 0;
}
