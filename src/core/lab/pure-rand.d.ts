// pure-rand 8 publishes its entry points only through package.json `exports`, which this project's
// `moduleResolution: node` does not read; these declarations point the compiler at the same files.
declare module 'pure-rand/generator/xoroshiro128plus' {
  export * from 'pure-rand/lib/generator/xoroshiro128plus';
}
declare module 'pure-rand/distribution/uniformInt' {
  export * from 'pure-rand/lib/distribution/uniformInt';
}
