"""The allocation service: schools, catchments, rounds and the allocation itself."""
