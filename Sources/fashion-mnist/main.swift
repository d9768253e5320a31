print("fashion-mnist: not implemented yet")
