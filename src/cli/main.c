/*
 * main.c: suf's entry point. Everything happens in suf_cli_main (cli.c):
 * arguments, then config, then the command, then the exit code.
 */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return suf_cli_main(argc, argv);
}
