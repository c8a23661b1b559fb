((m: { inherit (m) missing; }) { a = 1; }).missing
