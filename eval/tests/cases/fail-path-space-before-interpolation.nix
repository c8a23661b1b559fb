[ /som ${"x"} ]
