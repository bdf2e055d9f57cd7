/*
 * cli.h - the almasweep command line: one function per subcommand, each
 * with its own --help. Returns ASW_EXIT_* codes (src/exitcodes.h).
 */
#ifndef ASW_CLI_H
#define ASW_CLI_H

int asw_cli_main(int argc, char **argv);

int asw_cmd_run(int argc, char **argv);
int asw_cmd_query(int argc, char **argv);
int asw_cmd_votable(int argc, char **argv);
int asw_cmd_reduce(int argc, char **argv);
int asw_cmd_catalogue(int argc, char **argv);
int asw_cmd_fetch(int argc, char **argv);
int asw_cmd_report(int argc, char **argv);

#endif
