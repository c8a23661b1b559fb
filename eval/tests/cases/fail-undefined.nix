let abc = 1; in abd
