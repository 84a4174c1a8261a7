"""`python -m pipeline.output PATH SHEET`: the reject-workbook writer process (see `xlsx.start_writer`)."""

import sys

from .xlsx import write_from_pipe

write_from_pipe(*sys.argv[1:3])
