#include "cli/app.h"

int main(int argc, char** argv) { return sbpipe::sbpipe_main(argc, argv); }
