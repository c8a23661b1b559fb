# A formals function given a thunk that is not a set.
({ a ? 1 }: a) (if true then 3 else { })
