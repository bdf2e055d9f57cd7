/* almasweep - the thin entry point; everything else lives in libraries. */
#include "src/cli/cli.h"

int main(int argc, char **argv)
{
    return asw_cli_main(argc, argv);
}
